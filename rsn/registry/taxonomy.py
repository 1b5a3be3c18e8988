"""The threat taxonomy, loaded from versioned data rather than written in code.

Reports, detectors and federated peers all refer to category ids, so the list must be
the same everywhere and change only with its version; a region adds its own categories
through its pack instead of editing the shared file. Everything is checked when the
file is read, so a bad edit stops the node at start-up with the file and the field
named, instead of surfacing later as a report nobody can classify.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar

import pydantic
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rsn.errors import FieldProblem

__all__ = [
    "Category",
    "CategoryId",
    "DataFileError",
    "FieldIssue",
    "SemVer",
    "Slug",
    "Taxonomy",
    "load_base",
    "parse_yaml",
    "validate_file",
]

_SLUG = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_SLUG_RE = re.compile(rf"^{_SLUG}$")
_CATEGORY_ID_RE = re.compile(rf"^{_SLUG}(?:\.{_SLUG})*$")
_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_ROOT = "<root>"
_WORD = re.compile(r"\w+")
_PACKAGE = "rsn.registry"
_M = TypeVar("_M", bound=BaseModel)


class DataFileError(ValueError):
    """A shipped or region-supplied data file that must not be used as it is.

    Carries the file and every field at fault, so whoever edits the file can fix it
    without reading the loader.
    """

    def __init__(self, source: str, problems: Sequence[FieldProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        detail = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        super().__init__(f"{source}: {detail}")

    @classmethod
    def at(cls, source: str, field: str, message: str) -> DataFileError:
        """The common case: one field, one problem."""
        return cls(source, [FieldProblem(field, message)])

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.problems)


class FieldIssue(ValueError):
    """Raised by a model validator to point at a nested field rather than the whole model.

    Pydantic places a model-level error at the model itself; cross-field rules (a lead
    country that is not a member) must still name the exact field in `DataFileError`.
    """

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _check_slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError(f"{value!r} is not a lower-case kebab name such as 'joint-patrol'")
    return value


def _check_category_id(value: str) -> str:
    if not _CATEGORY_ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a dotted lower-case kebab id such as 'maritime.illegal-fishing'"
        )
    return value


def _check_semver(value: str) -> str:
    if not _SEMVER_RE.match(value):
        raise ValueError(f"{value!r} is not a semantic version such as '1.0.0' (quote it)")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]
CategoryId = Annotated[str, AfterValidator(_check_category_id)]
SemVer = Annotated[str, AfterValidator(_check_semver)]
NonEmpty = Annotated[str, Field(min_length=1)]


class Category(BaseModel):
    """One kind of security event; `parent` is implied by the dotted id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: CategoryId
    name: NonEmpty
    description: NonEmpty
    group: Literal["traditional", "non-traditional"]

    @property
    def parent(self) -> str | None:
        head, dot, _ = self.id.rpartition(".")
        return head if dot else None


class _TaxonomyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: SemVer
    categories: tuple[Category, ...] = Field(min_length=1)


def _first_tree_problem(
    new: Sequence[Category], known: Mapping[str, Category]
) -> tuple[int, str, str] | None:
    """(index in `new`, field, problem) for the first category that breaks the tree.

    `known` is what `new` is added to, so one check serves both a whole file and a
    region's extension of the base.
    """
    index = dict(known)
    for i, category in enumerate(new):
        if category.id in known:
            return i, "id", f"{category.id!r} is already defined by the taxonomy it extends"
        if category.id in index:
            return i, "id", f"duplicate id {category.id!r}"
        index[category.id] = category
    for i, category in enumerate(new):
        problem = _parent_problem(category, index)
        if problem is not None:
            return i, *problem
    return None


def _parent_problem(category: Category, index: Mapping[str, Category]) -> tuple[str, str] | None:
    parent_id = category.parent
    if parent_id is None:
        return None
    parent = index.get(parent_id)
    if parent is None:
        return "id", f"parent {parent_id!r} of {category.id!r} is not defined"
    if parent.group != category.group:
        return "group", f"{category.group!r} differs from its parent's group {parent.group!r}"
    return None


def _check_tree(new: Sequence[Category], known: Mapping[str, Category], source: str) -> None:
    found = _first_tree_problem(new, known)
    if found is not None:
        i, name, message = found
        raise DataFileError.at(source, f"categories[{i}].{name}", message)


@dataclass(frozen=True)
class Taxonomy:
    """An immutable, checked set of categories: the base, or the base plus extensions.

    Immutable because one cached instance is shared by every request of a node.
    """

    version: str
    categories: tuple[Category, ...]
    extensions: tuple[str, ...] = ()
    source: InitVar[str] = "<taxonomy>"
    _index: Mapping[str, Category] = field(init=False, repr=False, compare=False)

    def __post_init__(self, source: str) -> None:
        if not _SEMVER_RE.match(self.version):
            raise DataFileError.at(source, "version", f"{self.version!r} is not a semver")
        _check_tree(self.categories, {}, source)
        index = MappingProxyType({c.id: c for c in self.categories})
        object.__setattr__(self, "_index", index)

    def get(self, category_id: str) -> Category | None:
        return self._index.get(category_id)

    def ids(self) -> frozenset[str]:
        return frozenset(self._index)

    def __contains__(self, category_id: object) -> bool:
        return isinstance(category_id, str) and category_id in self._index

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def path_label(self, category_id: str) -> str:
        """Its name after its parents' ("Parent > Child"): either level's name then finds it."""
        names: list[str] = []
        current = self.get(category_id)
        while current is not None:
            names.insert(0, current.name)
            current = self.get(current.parent) if current.parent else None
        return " \u203a ".join(names)

    def matching(self, text: str) -> list[str]:
        """The categories a person's filter names, each with its sub-categories.

        An id or a name names one category; else an id's beginning
        (`organized-crime.human`); else every category whose name or id holds all the
        words, so "trafficking" selects each kind of trafficking.
        """
        wanted = " ".join(text.casefold().split())
        if not wanted:
            return []
        heads = (
            [c.id for c in self if wanted in (c.id, c.name.casefold(), self._label(c.id))]
            or [c.id for c in self if c.id.startswith(wanted)]
            or self._with_words(_WORD.findall(wanted))
        )
        return [c.id for c in self if any(c.id == h or c.id.startswith(h + ".") for h in heads)]

    def near(self, text: str, limit: int = 5) -> list[str]:
        """Categories whose words are close to the text's, for a filter that named none."""
        vocabulary: dict[str, list[str]] = {}
        for c in self:
            for word in _WORD.findall(f"{self._label(c.id)} {c.id}"):
                if len(word) > 2:  # "in", "of": close to too much to help
                    vocabulary.setdefault(word, []).append(c.id)
        score: dict[str, float] = {}
        for word in _WORD.findall(text.casefold()):
            for close in difflib.get_close_matches(word, list(vocabulary), n=3, cutoff=0.6):
                ratio = difflib.SequenceMatcher(None, word, close).ratio()
                for cid in vocabulary[close]:
                    score[cid] = max(score.get(cid, 0.0), ratio)
        return sorted(score, key=lambda cid: -score[cid])[:limit]

    def _label(self, category_id: str) -> str:
        return " ".join(self.path_label(category_id).casefold().split())

    def _with_words(self, words: Sequence[str]) -> list[str]:
        texts = {c.id: f"{self._label(c.id)} {c.id}" for c in self}
        return [cid for cid, text in texts.items() if words and all(w in text for w in words)]

    def extended(self, extra: Iterable[Category], source: str) -> Taxonomy:
        """A new taxonomy with a region's categories added, never redefining a shared one.

        A region may only add: changing the meaning of a shared id would make its
        reports mean something else on every other node. `source` names the region's
        file in errors, where `categories[i]` counts within `extra`.
        """
        added = tuple(extra)
        _check_tree(added, self._index, source)
        return Taxonomy(
            version=self.version,
            categories=self.categories + added,
            extensions=(*self.extensions, source),
            source=source,
        )


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; for hand-edited data that hides a mistake."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            problem = f"duplicate key {key!r}"
            raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
        seen.add(key)
    return dict(loader.construct_mapping(node))


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """The top-level mapping of a data file; YAML errors become `DataFileError`."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # safe: a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else _ROOT
        raise DataFileError.at(source, where, f"not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise DataFileError.at(source, _ROOT, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DataFileError.at(source, _ROOT, f"expected a mapping, got {type(data).__name__}")
    return data


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or _ROOT


# Pydantic's wording speaks of Python types; whoever edits a YAML file needs YAML's.
_PLAIN_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "string_type": "expected text, got {input!r} (quote it in YAML)",
    "tuple_type": "expected a list, got {input!r}",
    "model_type": "expected a mapping of keys, got {input!r}",
}


def _problem(error: Mapping[str, Any]) -> FieldProblem:
    kind = error["type"]
    loc = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, FieldIssue):
        loc += cause.loc
    if kind in _PLAIN_MESSAGES:
        message = _PLAIN_MESSAGES[kind].format(input=error.get("input"))
    elif isinstance(cause, ValueError):
        message = str(cause)
    else:
        message = str(error["msg"])
    return FieldProblem(_field_path(loc), message)


def validate_file(model: type[_M], data: Mapping[str, Any], source: str) -> _M:
    """`model` built from `data`, or a `DataFileError` naming every bad field by path."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [_problem(e) for e in exc.errors(include_url=False)]
        raise DataFileError(source, problems) from None


def _read_resource(name: str) -> tuple[str, str]:
    resource = resources.files(_PACKAGE) / "data" / name
    return resource.read_text(encoding="utf-8"), str(resource)


@functools.cache
def load_base() -> Taxonomy:
    """The taxonomy shipped with RSN, read and checked once per process."""
    text, source = _read_resource("taxonomy.yaml")
    parsed = validate_file(_TaxonomyFile, parse_yaml(text, source), source)
    return Taxonomy(version=parsed.version, categories=parsed.categories, source=source)
