"""TAXII `next` cursors a caller can hand back but can neither read nor compare.

A position in the walk is a report's commit number, and that number counts every
write on the node, hidden ones too: two plain cursors would tell a caller how many
reports it may not read were filed between them. So a position travels sealed
(ChaCha20-Poly1305, a fresh random nonce each time, fixed-width plaintext) with the
caller's user id as associated data: every cursor looks random, all have one length,
and one user's cursor is refused for another, as is any altered one. The key comes
from the node's audit MAC key in its data directory (under a purpose of its own), so
a cursor keeps working across restarts; after `rsn node rotate-keys` a client whose
cursor is refused starts its walk again.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from rsn.audit import AuditKeys
from rsn.errors import ValidationError
from rsn.taxii.filters import Cursor

PURPOSE = b"rsn.taxii.cursor"
NONCE_BYTES = 12
POSITION = struct.Struct(">QI")  # commit number, then the place among its objects


@dataclass(frozen=True)
class Sealer:
    """Seals and opens the cursors of one caller."""

    cipher: ChaCha20Poly1305
    user_id: str

    def seal(self, cursor: Cursor) -> str:
        nonce = os.urandom(NONCE_BYTES)
        plain = POSITION.pack(cursor.seq, cursor.position)
        sealed = nonce + self.cipher.encrypt(nonce, plain, self.user_id.encode())
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, value: str) -> Cursor:
        """The position in `value`; 400 naming `next` for anything this caller was not given."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            plain = self.cipher.decrypt(nonce, sealed, self.user_id.encode())
            seq, position = POSITION.unpack(plain)
        except (ValueError, binascii.Error, InvalidTag, struct.error):
            raise ValidationError.field(
                "next", f"'{value[:80]}' is not a cursor this server issued to you."
            ) from None
        return Cursor(seq, position)


def for_caller(keys: AuditKeys, *, user_id: str) -> Sealer:
    """The sealer for one caller, its key derived from the node's own key."""
    key = bytes.fromhex(keys.mac(PURPOSE, b""))
    return Sealer(ChaCha20Poly1305(key), user_id)
