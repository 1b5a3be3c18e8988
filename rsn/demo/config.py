"""How the demo node is configured beyond any node's defaults."""

from __future__ import annotations

from pathlib import Path

from rsn.config import Settings

# So a newcomer can point a webhook subscription at a receiver on this machine.
WEBHOOK_ALLOW = ("127.0.0.0/8", "::1/128")


def settings(data_dir: Path, *, port: int) -> Settings:
    """The demo node's settings: on 127.0.0.1, with webhooks to loopback allowed.

    A data directory that holds its own rsn.toml is configured by that file alone,
    as any node's is.
    """
    return Settings.for_data_dir(data_dir, host="127.0.0.1", port=port, webhook_allow=WEBHOOK_ALLOW)
