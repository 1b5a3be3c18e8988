"""The STIX export as OpenCTI reads it, judged by OpenCTI's own `pycti` code.

pycti pins its dependencies exactly, so it lives in `.venv-pycti`, which `make test`
builds; the judging script (tests/interop/opencti_check.py) runs there as a subprocess.
This test never skips: without that environment it fails and says how to build it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rsn.store import Database
from tests.factories import bimstec_world
from tests.interop.stix_support import export_every_kind

ROOT = Path(__file__).parents[2]
PYCTI_PYTHON = ROOT / ".venv-pycti" / "bin" / "python"
CHECK = Path(__file__).parent / "opencti_check.py"


def opencti_judges(bundle_path: Path) -> dict[str, object]:
    assert PYCTI_PYTHON.exists(), (
        f"{PYCTI_PYTHON} is missing: `make test` builds it (or `make .venv-pycti/.pycti-<version>`"
        ", the version in the Makefile)."
    )
    run = subprocess.run(
        [str(PYCTI_PYTHON), str(CHECK), str(bundle_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found: dict[str, object] = json.loads(run.stdout)
    return found


def test_opencti_takes_every_selector_it_has_a_type_for(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Phone numbers, wallets, bank accounts (IBAN and national) and person names are built
    with pycti's own classes, with pycti's ids; only RSN's vessel, plate and group-name SCOs
    and the extension definitions are left for OpenCTI to set aside."""
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(export_every_kind(bimstec_world(sqlite_db))), encoding="utf-8")
    judged = opencti_judges(path)
    assert judged["problems"] == []
    assert judged["observables"] == {
        "phone-number": 1,
        "persona": 1,
        "cryptocurrency-wallet": 2,
        "bank-account": 2,
    }
    assert judged["not_opencti"] == [
        "extension-definition",
        "rsn-group-name",
        "rsn-vehicle-plate",
        "rsn-vessel",
    ]
