"""Documentation that cannot drift: every command, setting and route is written down."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from rsn.api.app import create_app
from rsn.cli.reference import render
from rsn.config import Settings
from rsn.node import Node

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_cli_reference_is_generated_from_the_commands() -> None:
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == render(), (
        "docs/cli.md is stale: run `python -m rsn.cli.reference > docs/cli.md`"
    )


def test_every_setting_is_in_the_readme() -> None:
    for setting in fields(Settings):
        assert f"`{setting.name}`" in README, setting.name


def test_every_route_is_in_the_readme(tmp_path: Path) -> None:
    node = Node(Settings.for_data_dir(tmp_path))
    paths = create_app(node).openapi()["paths"]
    node.db.dispose()
    for path, operations in paths.items():
        for method in operations:
            documented = f"{method.upper()} {path}" in README or f"`{path}`" in README
            assert documented, f"{method.upper()} {path} is not in README.md"


def test_the_quick_start_is_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line for line in quick.strip().splitlines()] == ["make demo", "make test"]
