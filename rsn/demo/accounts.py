"""The demo's sign-in sheet: `<data-dir>/demo-accounts.json`, readable by its owner only.

Passwords and tokens exist in clear only here (the node keeps argon2 hashes and
keyed digests), so the file is created with mode 0600 from the start rather than
tightened afterwards, and replaced atomically so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from rsn.errors import Conflict

ACCOUNTS_FILE = "demo-accounts.json"


@dataclass(frozen=True)
class Account:
    """One demo user as a person trying the node needs it: who, where, and how to sign in."""

    username: str
    password: str
    member_state: str
    organization: str
    role: str
    api_token: str


FIELDS = tuple(f.name for f in fields(Account))


def path_in(data_dir: Path) -> Path:
    return data_dir / ACCOUNTS_FILE


def write(path: Path, accounts: list[Account]) -> None:
    """Write the sheet owner-only, via a fresh temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)  # O_EXCL below: never reuse a file with wider rights
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump([asdict(a) for a in accounts], out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def read(path: Path) -> list[Account]:
    """The accounts a previous run wrote; Conflict naming the problem if they are unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise Conflict(
            f"'{path}' is missing, but the node in '{path.parent}' already has users: it was "
            "not set up by `rsn demo`, or its accounts file was removed. "
            "Start the demo with an empty --data-dir."
        ) from exc
    except (OSError, ValueError) as exc:
        raise Conflict(f"'{path}' cannot be read as a list of demo accounts: {exc}") from exc
    if not isinstance(raw, list):
        raise Conflict(f"'{path}' must hold a JSON list of accounts.")
    return [_account(path, i, item) for i, item in enumerate(raw)]


def _account(path: Path, index: int, item: object) -> Account:
    if not isinstance(item, dict) or set(item) != set(FIELDS):
        raise Conflict(f"'{path}'[{index}] must be an object with exactly {', '.join(FIELDS)}.")
    if not all(isinstance(item[name], str) for name in FIELDS):
        raise Conflict(f"'{path}'[{index}]: every field must be a string.")
    return Account(**item)
