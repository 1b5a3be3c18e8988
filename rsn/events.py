"""What happened in a transaction, for the code that reacts to it, without being called by name.

A service publishes an event inside its write transaction (`publish(session, event)`).
Two kinds of subscriber react:

- **during** the transaction (`during(EventType)`): derived rows that must be written
  with the change or not at all — the correlation index of a report, its search
  document, a job to run later. They run at `publish`, in the same session, so a
  rollback takes their writes with it.
- **after the commit** (`after_commit(EventType, handler)`): wake-ups that touch no
  row — the audit chainer, a worker waiting for jobs. They run once the transaction
  has committed, never after a rollback, and may not use the session. A handler that
  fails is logged, and the others still run: the commit has happened.

Subscribers of the whole process register at import of their module (`during`);
a running node registers its own after-commit handlers on its database's `Bus`, so
two nodes in one process (tests) never wake each other.

An event type that must never go unheard names the modules that must subscribe to it
(`required`: a report's indexes) and refuses to be published without them, so an
entry point that forgot to import a feature fails loudly instead of leaving an index
behind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("rsn.events")

PENDING = "rsn.events.pending"
BUS = "rsn.events.bus"


@dataclass(frozen=True)
class Event:
    """Base of every event: a frozen record of what happened, named like `report.filed`."""

    name: ClassVar[str] = "event"
    required: ClassVar[frozenset[str]] = frozenset()  # modules that must subscribe


E = TypeVar("E", bound=Event)
During = Callable[[Session, Any], None]
After = Callable[[Any], None]

_during: dict[type[Event], list[During]] = defaultdict(list)
_after: dict[type[Event], list[After]] = defaultdict(list)


def during(
    event_type: type[E],
) -> Callable[[Callable[[Session, E], None]], Callable[[Session, E], None]]:
    """Decorator: run the handler inside every transaction that publishes `event_type`."""

    def register(handler: Callable[[Session, E], None]) -> Callable[[Session, E], None]:
        if handler not in _during[event_type]:
            _during[event_type].append(handler)
        return handler

    return register


def after_commit(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Run `handler` after each commit of a transaction that published `event_type`."""
    if handler not in _after[event_type]:
        _after[event_type].append(handler)


def unsubscribe(event_type: type[Event], handler: Callable[..., None]) -> None:
    """Remove a handler registered with `during` or `after_commit` (a test's own, say)."""
    for table in (_during, _after):
        if handler in table.get(event_type, []):
            table[event_type].remove(handler)


def subscribers(event_type: type[Event]) -> list[During]:
    return list(_during.get(event_type, ()))


def publish(session: Session, happened: Event) -> None:
    """Tell the subscribers: those `during` run now, those `after_commit` once it commits."""
    handlers = _during.get(type(happened), [])
    missing = happened.required - {h.__module__ for h in handlers}
    if missing:
        raise RuntimeError(
            f"{happened.name} needs {', '.join(sorted(missing))} to subscribe: import it"
        )
    for handler in handlers:
        handler(session, happened)
    session.info.setdefault(PENDING, []).append(happened)


class Bus:
    """One database's after-commit handlers: a running node's own wake-ups."""

    def __init__(self) -> None:
        self._after: dict[type[Event], list[After]] = defaultdict(list)

    def after_commit(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._after[event_type].append(handler)

    def handlers(self, event_type: type[Event]) -> list[After]:
        return self._after.get(event_type, [])


def install(sessions: sessionmaker[Session], bus: Bus) -> None:
    """Run the after-commit handlers of the sessions `sessions` makes (`Database` calls this)."""

    def committed(session: Session) -> None:
        happened: list[Event] = session.info.pop(PENDING, [])
        for item in happened:
            for handler in [*_after.get(type(item), ()), *bus.handlers(type(item))]:
                try:
                    handler(item)
                except Exception:  # the commit stands; the other handlers still run
                    log.exception("after-commit handler %r failed on %s", handler, item.name)

    def rolled_back(session: Session) -> None:
        session.info.pop(PENDING, None)

    sa_event.listen(sessions, "after_commit", committed)
    sa_event.listen(sessions, "after_rollback", rolled_back)
