"""Errors that reach a user, each carrying the HTTP status it maps to.

    RSNError                      500, never raised on purpose: a bug
    ├── BadRequest                400  the request cannot be read at all
    │   └── ValidationError       422  a field has a bad value (names the field)
    │       └── TooLarge          413  a field (a file, a body) is larger than allowed
    ├── Unauthorized              401  no credential, or a bad one
    ├── Forbidden                 403  visible, but the caller may not change it
    ├── NotFound                  404  absent, or not shared with the caller
    │   └── LinkNotUsable         404  an enrolment link unknown, expired, used or replaced
    ├── NotAcceptable             406  TAXII: the client accepts no media type we answer in
    ├── Conflict                  409  clashes with what is stored
    ├── ContentTooLarge           413  TAXII: a POST body over the limit
    ├── UnsupportedMediaType      415  TAXII: a POST body not in the TAXII media type
    └── Busy                      503  the store's writer stayed busy: try again after Retry-After

A hidden item and an absent one raise the same `NotFound` with the same message,
so an answer never tells which of the two it was.
"""

from __future__ import annotations

from dataclasses import dataclass


class RSNError(Exception):
    """Base of every error RSN raises for a user to read."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RSNError):
    status = 400


@dataclass(frozen=True)
class FieldProblem:
    """One field and what is wrong with it, as a user should read it."""

    field: str
    message: str


class ValidationError(BadRequest):
    status = 422

    def __init__(self, problems: list[FieldProblem] | FieldProblem) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))

    @classmethod
    def field(cls, field: str, message: str) -> ValidationError:
        return cls(FieldProblem(field, message))


class TooLarge(ValidationError):
    status = 413


class Unauthorized(RSNError):
    status = 401


class Forbidden(RSNError):
    status = 403


class NotFound(RSNError):
    status = 404

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} '{ident}' was not found.")
        self.kind = kind
        self.ident = ident


class LinkNotUsable(NotFound):
    """An unknown, expired, used or superseded link: one message for all, like a 404."""

    def __init__(self, message: str) -> None:
        RSNError.__init__(self, message)
        self.kind = "enrolment link"
        self.ident = ""


class NotAcceptable(RSNError):
    status = 406


class Conflict(RSNError):
    status = 409


class ContentTooLarge(RSNError):
    status = 413


class UnsupportedMediaType(RSNError):
    status = 415


class Busy(RSNError):
    """The node could not get the store's write lock in time: an overload, not a fault.

    Answered 503 with `Retry-After`, so a client backs off and tries again; nothing
    of the request was stored.
    """

    status = 503

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryFailed(Exception):
    """A webhook or a mail could not be handed over; the message says why, for its owner.

    Not an `RSNError`: it never answers a request. The delivery job keeps the message
    as the delivery's last error and tries again later, or gives up as `failed`.
    """
