"""Documentation that cannot drift: every command, setting and route is written down."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from rsn.api.app import create_app
from rsn.cli.reference import render
from rsn.config import Settings
from rsn.demo import data as demo_data
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


# Where the README names a user: commands run as one, create one or mint its token,
# a client signing in as one, and names in backticks in the prose ("sign in as `x`").
RUN_AS = re.compile(r"(?:--as|user add|token create)\s+([a-z0-9][a-z0-9._-]*)")
SIGN_IN = re.compile(r"\buser=\"([^\"]+)\"|`([a-z]+(?:\.[a-z]+)+)`")
FILE_SUFFIXES = frozenset({"json", "toml", "yaml", "yml", "md", "py", "csv", "xml", "txt", "rules"})


def _looks_like_a_user(name: str) -> bool:
    """Demo usernames start with a state's code or a regional body (`bd.cert.analyst`,
    `bimstec.duty`); other dotted names in backticks are files or audit actions."""
    first, last = name.split(".", 1)[0], name.rsplit(".", 1)[-1]
    bodies = {u.username.split(".", 1)[0] for u in demo_data.cast().users}
    return last not in FILE_SUFFIXES and (len(first) == 2 or first in bodies)


def named_users(text: str) -> tuple[set[str], set[str]]:
    """(users commands run as, users who sign in with a password) in a README's text."""
    run_as = set(RUN_AS.findall(text))
    signing = {a or b for a, b in SIGN_IN.findall(text)}
    return run_as, {n for n in signing if _looks_like_a_user(n)}


def test_the_readme_names_only_users_the_demo_has() -> None:
    """Copied from the README onto the demo node, every example must work as written."""
    cast = demo_data.cast()
    known = {u.username for u in cast.users}
    with_password = {u.username for u in cast.users if u.account}
    run_as, signing = named_users(README)
    assert run_as and signing, "the README's examples name no user: is the parser still right?"
    assert not run_as - known, f"not users of the demo: {sorted(run_as - known)}"
    assert not signing - with_password, (
        f"no password in demo-accounts.json: {sorted(signing - with_password)}"
    )


def test_a_made_up_user_in_the_readme_is_found() -> None:
    run_as, signing = named_users(
        'rsn export --as in.analyst -o x.json\nServer(url, user="bd.duty", password="…")\n'
        "Sign in as `bd.analyst`; the file is `demo-accounts.json`; `report.list` is audited."
    )
    assert run_as == {"in.analyst"} and signing == {"bd.duty", "bd.analyst"}
