"""`python -m rsn.cli` is `rsn`."""

from __future__ import annotations

from rsn.cli.main import app

app()
