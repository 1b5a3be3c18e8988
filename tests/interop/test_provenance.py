"""The node's seal: canonical JSON exactly as RFC 8785 has it, and a MAC only its key makes."""

from __future__ import annotations

import secrets
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from rsn.interop import provenance
from rsn.interop.model import Seal

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1e16, 1e21, 1e-7, 5e-324, 22.33, 123456789012345.6]),
    st.text(max_size=12),
    st.sampled_from(['"1e5"', "\\", '\\"2.0', "x\\\\", "0b5e1f0c", "\U0001f600"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200)
@given(st.dictionaries(st.text(max_size=6), values, max_size=6))
def test_canonical_json_is_the_libraries_own(value: dict[str, Any]) -> None:
    assert provenance.canonical(value) == rfc8785.dumps(value)


def test_keys_beyond_the_bmp_sort_by_utf16() -> None:
    value = {"\U0001f600": 1, "\uff5e": 2}
    expected = '{"\U0001f600":1,"\uff5e":2}'.encode()
    assert provenance.canonical(value) == rfc8785.dumps(value) == expected


def test_what_has_no_canonical_form_has_no_digest() -> None:
    assert provenance.digest({"x": "a\ud800b"}) is None
    assert provenance.digest({"x": 2**60}) is None
    assert provenance.digest({"x": float("nan")}) is None


def test_a_seal_proves_only_the_version_and_content_it_was_made_for() -> None:
    mac = provenance.NodeMac(secrets.token_bytes(32))
    digest = provenance.digest({"name": "report"}, [{"id": "b"}, {"id": "a"}])
    assert digest == provenance.digest({"name": "report"}, [{"id": "a"}, {"id": "b"}])
    assert digest is not None
    seal = Seal(2, digest, mac.sign("r1", 2, digest))
    assert mac.proves("r1", seal)
    assert not mac.proves("r2", seal)
    assert not mac.proves("r1", Seal(3, digest, seal.mac))
    assert not mac.proves("r1", Seal(2, "0" * 64, seal.mac))
    assert not provenance.NodeMac(secrets.token_bytes(32)).proves("r1", seal)
