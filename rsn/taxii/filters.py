"""What a TAXII request asks for: the match filters, `added_after`, and the paging cursor.

The objects of one report (a block) are filtered here, in memory: the database
has already chosen the reports the caller may read, and these filters only pick
among that report's objects. Nothing here decides access.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rsn.errors import ValidationError
from rsn.reports.schemas import utc_param
from rsn.taxii.schemas import taxii_time

VERSION_WORDS = frozenset({"first", "last", "all"})


@dataclass(frozen=True)
class Match:
    """`added_after` and the `match[...]` filters of one request; empty sets match all."""

    added_after: datetime | None = None
    ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset({"last"})  # of match[version]: first, last, all
    stamps: frozenset[datetime] = frozenset()  # of match[version]: exact versions
    spec_versions: frozenset[str] = frozenset()

    @property
    def every_version(self) -> bool:
        """Whether a report's older versions may be asked for (anything but plain `last`)."""
        return self.words != {"last"} or bool(self.stamps)


@dataclass(frozen=True)
class Entry:
    """One object as served: its body, when the collection got it, and its version."""

    obj: dict[str, Any]
    added: datetime
    version: str = field(default="")

    @property
    def key(self) -> tuple[str, str]:
        return str(self.obj.get("id", "")), self.version


def entry(obj: dict[str, Any], added: datetime) -> Entry:
    """An entry whose version is `modified`, else `created`, else its date added."""
    version = obj.get("modified") or obj.get("created") or taxii_time(added)
    return Entry(obj, added, str(version))


@dataclass(frozen=True, order=True)
class Cursor:
    """Where a page ended: a report's commit number and the position in its objects.

    It counts hidden writes too, so it leaves the node only sealed (`rsn.taxii.cursors`).
    """

    seq: int
    position: int


START = Cursor(0, 0)


def parse_time(name: str, value: str) -> datetime:
    """An RFC 3339 timestamp with its offset (a TAXII `added_after` or version)."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValidationError.field(
            name, f"'{value[:80]}' is not an RFC 3339 timestamp with an offset (such as Z)."
        )
    return utc_param(name, when)


def listed(value: str | None) -> frozenset[str]:
    """A comma-separated filter value as a set (TAXII ORs the values of one filter)."""
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def match_from(
    *,
    added_after: str | None = None,
    ids: str | None = None,
    types: str | None = None,
    versions: str | None = None,
    spec_versions: str | None = None,
) -> Match:
    """The filters of a request, each value checked; bad ones are named in the error."""
    words, stamps = {"last"}, set()
    if versions:
        given = listed(versions)
        words = {v for v in given if v in VERSION_WORDS}
        stamps = {parse_time("match[version]", v) for v in given - VERSION_WORDS}
    return Match(
        added_after=parse_time("added_after", added_after) if added_after else None,
        ids=listed(ids),
        types=listed(types),
        words=frozenset(words),
        stamps=frozenset(stamps),
        spec_versions=listed(spec_versions),
    )


def select(entries: Sequence[Entry], match: Match) -> list[Entry]:
    """The entries of one block that the filters keep, in their order."""
    kept = [e for e in entries if _passes(e, match)]
    if "all" in match.words:
        return kept
    chosen = _chosen_versions(kept, match)
    return [e for e in kept if e.key in chosen]


def _passes(e: Entry, match: Match) -> bool:
    obj = e.obj
    if match.added_after is not None and e.added <= match.added_after:
        return False
    if match.ids and obj.get("id") not in match.ids:
        return False
    if match.types and obj.get("type") not in match.types:
        return False
    return not match.spec_versions or obj.get("spec_version", "2.1") in match.spec_versions


def _chosen_versions(entries: Iterable[Entry], match: Match) -> set[tuple[str, str]]:
    """The (id, version) pairs `first`, `last` and exact stamps pick out."""
    by_id: dict[str, list[Entry]] = {}
    for e in entries:
        by_id.setdefault(e.key[0], []).append(e)
    chosen: set[tuple[str, str]] = set()
    for versions in by_id.values():
        ordered = sorted(versions, key=_when) if len(versions) > 1 else versions
        if "first" in match.words:
            chosen.add(ordered[0].key)
        if "last" in match.words:
            chosen.add(ordered[-1].key)
        chosen.update(e.key for e in ordered if match.stamps and _when(e) in match.stamps)
    return chosen


def _when(e: Entry) -> datetime:
    """An entry's version as a time; a version that is not one sorts as its date added."""
    try:
        return datetime.fromisoformat(e.version).astimezone(UTC)
    except ValueError:  # kept third-party objects may carry odd stamps; order them by arrival
        return e.added
