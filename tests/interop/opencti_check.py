"""Judge a STIX bundle with OpenCTI's own code: run under .venv-pycti/bin/python, not RSN's.

Usage: opencti_check.py BUNDLE.json. Prints one JSON object:
- `pycti`: the version that judged;
- `observables`: {type: count} of the bundle's SCOs whose type is one of the custom
  observables pycti defines (its `CustomObservable*` classes in
  `pycti.utils.constants`), each of which was built with pycti's class from exactly
  the exported properties, had the id that class generates from its id properties,
  and is a type OpenCTI's importer maps to an observable entity;
- `problems`: what failed in those checks, one sentence each;
- `not_opencti`: the types of the objects OpenCTI's bundle splitter (what its
  connectors send a bundle through before ingesting it) sets aside as unsupported.

pycti pins its dependencies tightly, so this runs in a virtual environment of its own
that `make test` builds; tests/interop/test_opencti.py runs it as a subprocess.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pycti
import stix2
from pycti.utils import constants
from pycti.utils.opencti_stix2_splitter import OpenCTIStix2Splitter
from pycti.utils.opencti_stix2_utils import STIX_CYBER_OBSERVABLE_MAPPING

# Observable type -> pycti's class for it (the decorator leaves the type in `_type`).
PYCTI_CLASSES = {
    cls._type: cls
    for name, cls in vars(constants).items()
    if name.startswith("CustomObservable") and getattr(cls, "_type", None)
}


def problems_of(obj: dict[str, Any], cls: Any) -> list[str]:
    where = f"{obj['id']} ({cls.__name__})"
    try:
        cls(**obj)  # stix2 refuses a missing required or an unknown property
        generated = cls(**{k: v for k, v in obj.items() if k != "id"}).id
    except stix2.exceptions.STIXError as exc:
        return [f"{where}: pycti refuses the exported properties: {exc}"]
    found = []
    if generated != obj["id"]:
        found.append(f"{where}: pycti generates the id {generated}")
    if obj["type"] not in STIX_CYBER_OBSERVABLE_MAPPING:
        found.append(f"{where}: OpenCTI's importer maps no entity to {obj['type']!r}")
    return found


def judge(bundle: dict[str, Any]) -> dict[str, Any]:
    observables: dict[str, int] = {}
    problems: list[str] = []
    for obj in bundle["objects"]:
        cls = PYCTI_CLASSES.get(obj["type"])
        if cls is not None:
            observables[obj["type"]] = observables.get(obj["type"], 0) + 1
            problems += problems_of(obj, cls)
    splitter = OpenCTIStix2Splitter()
    _, unsupported, _ = splitter.split_bundle_with_expectations(bundle, use_json=False)
    return {
        "pycti": pycti.__version__,
        "observables": observables,
        "problems": problems,
        "not_opencti": sorted({o["type"] for o in unsupported}),
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(judge(json.load(f))))
