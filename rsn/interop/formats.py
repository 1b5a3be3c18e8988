"""The exchange formats the node reads and writes, and how a file's format is told.

Each format lives in its own module with `export(items, out, context)` and, where
the format can carry reports in, `parse(stream, context)` and `sniff(head)`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from rsn.errors import ValidationError

HEAD_BYTES = 4096


@dataclass(frozen=True)
class Format:
    name: str
    module: str
    media_type: str
    suffix: str
    reads: bool
    description: str
    writer: str = "export"

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def export(self, *args: Any) -> int:
        written: int = getattr(self.load(), self.writer)(*args)
        return written


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "stix",
            "rsn.interop.stix",
            "application/stix+json;version=2.1",
            ".json",
            True,
            "STIX 2.1 bundle",
        ),
        Format("misp", "rsn.interop.misp", "application/json", ".json", True, "MISP event JSON"),
        Format("cap", "rsn.interop.cap", "application/cap+xml", ".xml", True, "CAP 1.2 alerts"),
        Format("csv", "rsn.interop.csvfmt", "text/csv", ".csv", True, "CSV of reports"),
        Format(
            "csv-observables",
            "rsn.interop.csvfmt",
            "text/csv",
            ".csv",
            False,
            "CSV of observables",
            writer="export_observables",
        ),
        Format(
            "suricata",
            "rsn.interop.suricata",
            "text/plain",
            ".rules",
            False,
            "Suricata rules",
        ),
        Format("plain", "rsn.interop.plain", "text/plain", ".txt", False, "plain value lists"),
    )
}
EXPORTS = tuple(FORMATS)
IMPORTS = tuple(name for name, f in FORMATS.items() if f.reads)

# Sniffed in this order: XML first (CAP), then the JSON formats, CSV last since
# almost any text could pass for CSV.
SNIFF_ORDER = ("cap", "stix", "misp", "csv")


def get(name: str, *, reading: bool = False) -> Format:
    """The format called `name`; 422 naming `format` for anything else."""
    names = IMPORTS if reading else EXPORTS
    if name not in names:
        verb = "imports" if reading else "exports"
        raise ValidationError.field(
            "format", f"'{name}' is not a format this node {verb} (one of: {', '.join(names)})."
        )
    return FORMATS[name]


def detect(head: bytes) -> Format:
    """The format of a file from its first bytes; 422 when none claims it."""
    for name in SNIFF_ORDER:
        fmt = FORMATS[name]
        if fmt.load().sniff(head):
            return fmt
    raise ValidationError.field(
        "file",
        "is not a STIX 2.1 bundle, MISP event JSON, CAP 1.2 alert or CSV of reports "
        "(give the format explicitly if it is one of them).",
    )
