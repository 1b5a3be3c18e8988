"""Who may learn the node's user names: the directory and the audience endpoint agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rsn.store import Database
from tests.factories import api_for, bimstec_world


def test_observer_learns_no_names_from_the_audience_endpoint(db: Database, tmp_path: Path) -> None:
    """A known name and an unknown one get the same refusal, so the answer tells nothing."""
    w = bimstec_world(db)
    api = api_for(db, tmp_path)

    def ask(who: str, name: str) -> Any:
        body = {"tlp": "red", "distribution": {"users": [name]}}
        return api.post("/api/v1/sharing/audience", json=body, as_=w.people[who])

    known, unknown = ask("in.watch", "mm.analyst"), ask("in.watch", "no.such.person")
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()
    assert "mm-cert" not in known.text
    assert api.get("/api/v1/users", as_=w.people["in.watch"]).status_code == 403
    # Those who may read the directory still see who a red item would reach.
    assert ask("bd.policy", "mm.analyst").status_code == 200
    assert ask("bd.analyst", "no.such.person").status_code == 422
