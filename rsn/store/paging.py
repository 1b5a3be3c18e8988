"""Keyset cursors: where a page ended, as (time, id), handed to a client and read back.

Every paged list (reports, sightings, the inbox) orders by a time, then an id; the
cursor names the last row of a page in that order. A cursor the node did not issue is
a 422 naming `cursor`, never a 500.
"""

from __future__ import annotations

import base64
from datetime import datetime

from rsn.errors import ValidationError


def encode(when: datetime, ident: str) -> str:
    raw = f"{when.isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        return when, ident
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        message = f"'{cursor[:64]}' is not a cursor this node issued."
        raise ValidationError.field("cursor", message) from exc
