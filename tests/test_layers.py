"""The layers point one way: faces → features → sharing → registry → store.

A feature that imports a face (an HTTP dependency, a page helper) can no longer be
used from another face or a background job; sharing that imports a feature would
make the access decision depend on what it decides about. This test reads every
module's imports and fails on the first that points up, so the rule holds by itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import rsn

ROOT = Path(rsn.__file__).parent
FACES = {"api", "web", "cli", "taxii", "demo"}  # the demo is an application of the node
COMPOSITION = {"node", "__main__"}  # what a running node is made of: faces start it
FOUNDATION = {"store", "errors", "clock", "config", "audit", "events"}
LEVEL = {"foundation": 0, "registry": 1, "sharing": 2, "feature": 3, "node": 4, "face": 5}
# Migrations are snapshots of their day; they may use the code that was there then.
SKIPPED = ("rsn.store.migrations",)


def level(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    if top in FACES:
        return LEVEL["face"]
    if top in COMPOSITION:
        return LEVEL["node"]
    if top in FOUNDATION or top == "":
        return LEVEL["foundation"]
    if top in ("registry", "sharing"):
        return LEVEL[top]
    return LEVEL["feature"]


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not name.startswith(SKIPPED):
            yield name, path


def imports(path: Path) -> Iterator[str]:
    """Every rsn module `path` imports, at any depth of the file (lazy imports too)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("rsn."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "rsn":
                yield from (f"rsn.{a.name}" for a in node.names)
            elif node.module.startswith("rsn."):
                yield node.module


def test_no_module_imports_against_the_layers() -> None:
    wrong = []
    for name, path in modules():
        here = level(name)
        for target in imports(path):
            # Features may use one another (through their public modules); nothing may
            # reach up a layer, and no feature reaches a face or the running node.
            if level(target) > here:
                wrong.append(f"{name} imports {target}")
    assert wrong == [], "\n".join(wrong)


def test_the_rule_itself_sees_an_upward_import(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("from rsn.api.deps import NodeDep\nfrom rsn import web\n")
    assert list(imports(planted)) == ["rsn.api.deps", "rsn.web"]
    assert level("rsn.api.deps") > level("rsn.reports.service") > level("rsn.sharing.policy")
    assert level("rsn.sharing.policy") > level("rsn.registry.service") > level("rsn.store.db")
