"""Plain value lists: one observable value a line, for firewalls, DNS blocklists, grep.

With `kind` the output is the bare list of that type (nothing else on any line, so
a tool can read it as is). Without it every type the reports hold is written, each
section under a `# <type>` line. Values are deduplicated and sorted; revoked reports
give none. Values are stored normalised, so none holds a line break.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from rsn.errors import ValidationError
from rsn.interop.model import ExportContext, ExportItem
from rsn.observables import OBSERVABLE_TYPES


def export(
    items: Iterable[ExportItem],
    out: IO[bytes],
    context: ExportContext,
    *,
    kind: str | None = None,
) -> int:
    """Write the lists; returns how many reports gave at least one value."""
    if kind is not None and kind not in OBSERVABLE_TYPES:
        raise ValidationError.field(
            "kind", f"'{kind}' is not an observable type (one of: {', '.join(OBSERVABLE_TYPES)})."
        )
    values, reports = collect(items, kind)
    sections = []
    for name in (t for t in OBSERVABLE_TYPES if t in values):
        lines = "".join(f"{v}\n" for v in sorted(values[name]))
        sections.append(lines if kind is not None else f"# {name}\n{lines}")
    out.write("\n".join(sections).encode())
    return reports


def collect(items: Iterable[ExportItem], kind: str | None) -> tuple[dict[str, set[str]], int]:
    """Values by type (only `kind` when given) and how many reports gave any."""
    values: dict[str, set[str]] = {}
    reports = 0
    for item in items:
        if item.current.get("revoked"):
            continue
        gave = False
        for observable in item.current.get("observables", []):
            name = str(observable["type"])
            if kind is None or name == kind:
                values.setdefault(name, set()).add(str(observable["value"]))
                gave = True
        reports += gave
    return values, reports
