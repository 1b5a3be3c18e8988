"""Observables must collapse to one spelling and bad ones must say why, quoting the value."""

from __future__ import annotations

from collections.abc import Callable

import idna
import phonenumbers
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls
from stdnum import imo

from rsn.observables import OBSERVABLE_TYPES, ObservableError, normalize
from rsn.observables.normalize import _plain_host

# No example database: the test tree is shared and must not grow files as a side effect.
_PROPERTY = settings(database=None, deadline=None, max_examples=150)


def test_observable_types_are_exactly_the_published_list() -> None:
    assert OBSERVABLE_TYPES == (
        "ipv4-addr",
        "ipv6-addr",
        "domain-name",
        "url",
        "email-addr",
        "file-md5",
        "file-sha1",
        "file-sha256",
        "phone-number",
        "vessel-imo",
        "vessel-mmsi",
        "vehicle-plate",
        "person-name",
        "group-name",
        "crypto-wallet",
        "bank-account",
    )


def test_observable_error_is_a_value_error() -> None:
    assert issubclass(ObservableError, ValueError)


GOOD = [
    ("ipv4-addr", " 192.0.2.1 ", "192.0.2.1"),
    ("ipv6-addr", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("ipv6-addr", "::FFFF:192.0.2.1", "::ffff:c000:201"),
    ("domain-name", "Example.COM.", "example.com"),
    ("domain-name", "bücher.de", "xn--bcher-kva.de"),
    ("domain-name", "XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
    ("domain-name", "mail.example.co.uk", "mail.example.co.uk"),
    ("url", "HTTP://Bücher.DE:80", "http://xn--bcher-kva.de/"),
    ("url", "https://Example.com:443/A/b?Q=1#Frag", "https://example.com/A/b?Q=1#Frag"),
    ("url", "https://[2001:DB8::0:1]:8443/x", "https://[2001:db8::1]:8443/x"),
    ("url", "http://user:Secret@192.0.2.1:80/", "http://user:Secret@192.0.2.1/"),
    ("url", "ftp://files.example.org/pub/", "ftp://files.example.org/pub/"),
    ("url", "https://example.com/äb?q=ü#x[1]", "https://example.com/%C3%A4b?q=%C3%BC#x%5B1%5D"),
    ("url", "https://example.com/%C3%A4b", "https://example.com/%C3%A4b"),
    ("email-addr", "John.Doe@Example.COM.", "John.Doe@example.com"),
    ("email-addr", "info@bücher.de", "info@xn--bcher-kva.de"),
    ("file-md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    (
        "file-sha1",
        "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    ),
    (
        "file-sha256",
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    ("phone-number", "+880 1712-345678", "+8801712345678"),
    ("phone-number", "+44 20 7946 0958", "+442079460958"),
    ("phone-number", "+1 (202) 555-0125", "+12025550125"),
    ("vessel-imo", "IMO 9074729", "IMO9074729"),
    ("vessel-imo", "IMO9074729", "IMO9074729"),
    ("vessel-imo", "9074729", "IMO9074729"),
    ("vessel-imo", "imo 9319466", "IMO9319466"),
    ("vessel-mmsi", "366123456", "366123456"),
    ("vessel-mmsi", "405000123", "405000123"),
    ("vessel-mmsi", "970123456", "970123456"),
    ("vessel-mmsi", "111405123", "111405123"),
    ("vehicle-plate", "ab-12 cd", "AB12CD"),
    ("vehicle-plate", "\uff21\uff22\uff23\uff11\uff12\uff13", "ABC123"),  # full-width
    ("vehicle-plate", "ঢাকা মেট্রো-গ ১২-৩৪৫৬", "ঢাকামেট্রোগ123456"),
    ("person-name", "Abu  SAYYAF", "abu sayyaf"),
    ("person-name", "ÅSA\tÖberg", "åsa öberg"),
    ("group-name", "\uff2a\uff41\uff4d\uff41\uff41\uff54  ul-Mujahideen", "jamaat ul-mujahideen"),
    (
        "crypto-wallet",
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ),
    (
        "crypto-wallet",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    ("crypto-wallet", "BC1SW50QGDZ25J", "bc1sw50qgdz25j"),
    ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("crypto-wallet", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    (
        "crypto-wallet",
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x52908400098527886e0f7030069857d2e4169ee7",
    ),
    (
        "crypto-wallet",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ),
    (
        "crypto-wallet",
        "0xde709f2102306220921060314715629080e2fb77",
        "0xde709f2102306220921060314715629080e2fb77",
    ),
    (
        "crypto-wallet",
        "0XDE709F2102306220921060314715629080E2FB77",
        "0xde709f2102306220921060314715629080e2fb77",
    ),
    ("bank-account", "GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("bank-account", "gb82 west 1234 5698 7654 32", "GB82WEST12345698765432"),
    ("bank-account", "DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ("bank-account", "bd:1234-5678 90123", "BD:1234567890123"),
]


@pytest.mark.parametrize(("type_", "value", "expected"), GOOD)
def test_valid_values_normalise_to_the_canonical_form(
    type_: str, value: str, expected: str
) -> None:
    assert normalize(type_, value) == expected
    assert normalize(type_, expected) == expected


@pytest.mark.parametrize(
    ("type_", "left", "right"),
    [
        ("domain-name", "Example.COM.", "example.com"),
        ("domain-name", "bücher.de", "xn--bcher-kva.de"),
        ("url", "http://EXAMPLE.com", "http://example.com:80/"),
        ("email-addr", "a@EXAMPLE.com", "a@example.com."),
        ("phone-number", "+880 1712-345678", "+8801712345678"),
        ("vessel-imo", "IMO 9074729", "9074729"),
        ("vehicle-plate", "ab 12.cd-34", "AB12CD34"),
        ("person-name", "Abu  SAYYAF", "abu sayyaf"),
        ("crypto-wallet", "BC1SW50QGDZ25J", "bc1sw50qgdz25j"),
        ("bank-account", "GB82 WEST 1234 5698 7654 32", "gb82west12345698765432"),
    ],
)
def test_equal_things_correlate(type_: str, left: str, right: str) -> None:
    assert normalize(type_, left) == normalize(type_, right)


BAD = [
    ("ipv4-addr", "192.0.2", "expected 4 octets"),
    ("ipv4-addr", "2001:db8::1", "it is an IPv6 address; use the ipv6-addr type"),
    ("ipv4-addr", "192.0.2.0/24", "a single address is expected, not a CIDR network"),
    ("ipv4-addr", "010.0.2.1", "leading zeros"),
    ("ipv6-addr", "192.0.2.1", "it is an IPv4 address; use the ipv4-addr type"),
    ("ipv6-addr", "2001:db8::/32", "not a CIDR network"),
    ("ipv6-addr", "fe80::1%eth0", "zone index"),
    ("ipv6-addr", "gggg::1", "only hex digits"),
    ("domain-name", "localhost", "at least two labels"),
    ("domain-name", "192.0.2.1", "it is an IP address"),
    ("domain-name", "example.123", "top-level label is all digits"),
    ("domain-name", "a..example", "empty label"),
    ("domain-name", "-bad.example", "hyphen"),
    ("domain-name", "ex ample.com", "not allowed"),
    ("domain-name", "a" * 64 + ".com", "too long"),
    ("url", "javascript:alert(1)", "the scheme must be http, https or ftp, not 'javascript'"),
    ("url", "example.com/path", "must start with http://, https:// or ftp://"),
    ("url", "https://example.com/%zz", "'%' that is not followed by two hexadecimal digits"),
    ("url", "http:///path", "it has no host"),
    ("url", "http://exa mple.com/", "whitespace"),
    ("url", "http://example.com:99999/", "port out of range"),
    ("url", "http://[::1/", "invalid IPv6 URL"),
    ("url", "http://localhost/", "the host 'localhost' is not valid"),
    ("email-addr", "no-at-sign.example.com", "exactly one '@'"),
    ("email-addr", "a@b@example.com", "exactly one '@'"),
    ("email-addr", "@example.com", "the part before '@' is empty"),
    ("email-addr", "a b@example.com", "contains a space"),
    ("email-addr", "x" * 65 + "@example.com", "longer than 64 characters"),
    ("email-addr", "a..b@example.com", "doubled dot"),
    ("email-addr", "a@localhost", "the domain 'localhost' is not valid"),
    ("file-md5", "d41d8cd98f00b204e9800998ecf8427", "expected 32 hexadecimal characters, got 31"),
    ("file-md5", "z41d8cd98f00b204e9800998ecf8427e", "other than 0-9 and a-f"),
    ("file-sha1", "da39a3ee", "expected 40 hexadecimal characters, got 8"),
    ("file-sha256", "e3b0c442", "expected 64 hexadecimal characters, got 8"),
    ("phone-number", "+88 017", "too short"),
    ("phone-number", "+88017123456789012", "too long"),
    ("phone-number", "01712345678", "must be in international format starting with +"),
    ("phone-number", "+999 123", "unknown country calling code"),
    ("phone-number", "+1 200 555 0125", "not a valid number for its country code"),
    ("phone-number", "+abc", "it is not a phone number"),
    ("phone-number", "+1 202 555 0125 ext 12", "extension"),
    ("vessel-imo", "9074728", "check digit"),
    ("vessel-imo", "IMO 907472", "7 digits"),
    ("vessel-imo", "IMO-9074729", "7 digits"),
    ("vessel-mmsi", "36612345", "exactly 9 digits"),
    ("vessel-mmsi", "36612345X", "exactly 9 digits"),
    ("vessel-mmsi", "199123456", "start with 111"),
    ("vessel-mmsi", "200123456", "MID (201-775), not 200"),
    ("vessel-mmsi", "912345678", "97, 98 or 99"),
    ("vehicle-plate", "A", "2 to 15 letters and digits, this has 1"),
    ("vehicle-plate", "ABCDEFGH12345678", "2 to 15 letters and digits, this has 16"),
    ("vehicle-plate", "AB@12", "'@' is not a letter or digit"),
    ("person-name", "X", "a name has 2 to 200 characters, this has 1"),
    ("person-name", "1234", "no letters"),
    ("group-name", "a" * 201, "this has 201"),
    ("group-name", "ab\x00cd", "control characters"),
    ("crypto-wallet", "hello", "expected a Bitcoin address"),
    ("crypto-wallet", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "or an Ethereum address"),
    ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "base58check checksum is wrong"),
    ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN0", "outside the base58 alphabet"),
    (
        "crypto-wallet",
        "0x52908400098527886e0F7030069857D2E4169EE7",
        "EIP-55 checksum does not match",
    ),
    ("crypto-wallet", "0x5290840009852788", "0x followed by exactly 40 hexadecimal digits"),
    (
        "crypto-wallet",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
        "checksum or witness program is wrong",
    ),
    (
        "crypto-wallet",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # BIP-350: v0 with a bech32m checksum
        "checksum or witness program is wrong",
    ),
    (
        "crypto-wallet",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # v1 with bech32
        "must use the bech32m checksum",
    ),
    ("crypto-wallet", "bc1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "mix upper and lower case"),
    ("bank-account", "GB82WEST12345698765433", "the IBAN checksum is wrong"),
    ("bank-account", "DE89370400440532013001", "the IBAN checksum is wrong"),
    ("bank-account", "12345678", "it is not in IBAN format"),
    ("bank-account", "ZZ:1234567890", "'ZZ' is not an ISO 3166 country code"),
    ("bank-account", "BD:123", "6 to 34 letters and digits"),
    ("bank-account", "BD:12345#789", "BD:1234567890123"),
    ("url", "   ", "it is empty"),
    ("person-name", "", "it is empty"),
]


@pytest.mark.parametrize(("type_", "value", "reason"), BAD)
def test_invalid_values_are_refused_with_the_value_quoted_and_a_reason(
    type_: str, value: str, reason: str
) -> None:
    with pytest.raises(ObservableError) as caught:
        normalize(type_, value)
    message = str(caught.value)
    assert message.startswith(f"{value!r} is not a valid ")
    assert reason.lower() in message.lower()
    assert isinstance(caught.value.__cause__, Exception)


def test_every_type_has_good_and_bad_examples() -> None:
    assert {t for t, _, _ in GOOD} == set(OBSERVABLE_TYPES)
    assert {t for t, _, _ in BAD} == set(OBSERVABLE_TYPES)


def test_message_has_the_shape_the_caller_prefixes_with_a_field_path() -> None:
    with pytest.raises(ObservableError) as caught:
        normalize("phone-number", "+88 017")
    assert str(caught.value) == "'+88 017' is not a valid phone number (too short)"


@pytest.mark.parametrize(
    ("value", "region", "normal"),
    [
        ("01711460983", "BD", "+8801711460983"),
        ("01711-460983", "bd", "+8801711460983"),
        ("00880 1711-460983", "BD", "+8801711460983"),  # the international call prefix
        ("+880 1711-460983", "IN", "+8801711460983"),  # written internationally: any region
        ("098 1234 5678", "IN", "+919812345678"),
    ],
)
def test_a_national_phone_number_is_read_in_the_region_given(
    value: str, region: str, normal: str
) -> None:
    assert normalize("phone-number", value, region) == normal


@pytest.mark.parametrize(
    ("value", "region", "message"),
    [
        ("01711", "BD", "'01711' is not a valid phone number for Bangladesh (too short)"),
        (
            "01711460983",
            "IN",
            "'01711460983' is not a valid phone number for India"
            " (not a valid number for its country code)",
        ),
        # No region, or one without a numbering plan: only international format will do.
        (
            "01711460983",
            None,
            "'01711460983' is not a valid phone number"
            " (it must be in international format starting with +)",
        ),
        (
            "01711460983",
            "AQ",
            "'01711460983' is not a valid phone number"
            " (it must be in international format starting with +)",
        ),
    ],
)
def test_a_national_phone_number_invalid_in_its_region_names_the_region(
    value: str, region: str | None, message: str
) -> None:
    with pytest.raises(ObservableError) as caught:
        normalize("phone-number", value, region)
    assert str(caught.value) == message


def test_a_region_changes_nothing_for_other_types() -> None:
    assert normalize("domain-name", "Example.COM", "BD") == "example.com"
    assert normalize("vessel-imo", "IMO 9074729", "BD") == "IMO9074729"


def test_unknown_type_lists_the_allowed_types() -> None:
    with pytest.raises(ObservableError) as caught:
        normalize("mac-addr", "00:11:22:33:44:55")
    message = str(caught.value)
    assert message.startswith("'mac-addr' is not a known observable type")
    assert all(t in message for t in OBSERVABLE_TYPES)


def test_over_long_values_are_refused_and_the_quote_is_shortened() -> None:
    value = "a" * 3000 + ".com"
    with pytest.raises(ObservableError) as caught:
        normalize("domain-name", value)
    message = str(caught.value)
    assert "3004 characters long; the limit is 2048" in message
    assert message.startswith("'" + "a" * 255 + "…'")
    assert len(message) < 400


def _assert_idempotent(type_: str, value: str, *, must_accept: bool) -> None:
    try:
        once = normalize(type_, value)
    except ObservableError:
        if must_accept:
            raise
        reject()
    assert normalize(type_, once) == once


@_PROPERTY
@given(st.ip_addresses())
def test_ip_addresses_are_idempotent(address: object) -> None:
    type_ = "ipv4-addr" if ":" not in str(address) else "ipv6-addr"
    _assert_idempotent(type_, str(address), must_accept=True)
    assert normalize(type_, str(address)) == str(address)


@_PROPERTY
@given(
    st.sampled_from([32, 40, 64]).flatmap(
        lambda n: st.text("0123456789abcdefABCDEF", min_size=n, max_size=n)
    )
)
def test_hashes_are_idempotent(digest: str) -> None:
    type_ = {32: "file-md5", 40: "file-sha1", 64: "file-sha256"}[len(digest)]
    _assert_idempotent(type_, digest, must_accept=True)


@_PROPERTY
@given(domains())
def test_domains_are_idempotent(domain: str) -> None:
    _assert_idempotent("domain-name", domain, must_accept=False)


@_PROPERTY
@given(urls())
def test_urls_are_idempotent(url: str) -> None:
    _assert_idempotent("url", url, must_accept=False)


@_PROPERTY
@given(st.emails())
def test_emails_are_idempotent(email: str) -> None:
    _assert_idempotent("email-addr", email, must_accept=False)


@_PROPERTY
@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
def test_phone_numbers_are_idempotent(region: str) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        reject()
    text = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    _assert_idempotent("phone-number", text, must_accept=True)


@_PROPERTY
@given(st.integers(min_value=0, max_value=999_999), st.sampled_from(["", "IMO", "IMO ", "imo "]))
def test_imo_numbers_are_idempotent(serial: int, prefix: str) -> None:
    digits = f"{serial:06d}"
    _assert_idempotent(
        "vessel-imo", prefix + digits + imo.calc_check_digit(digits), must_accept=True
    )


# Letters, marks and digits of every script, plus the spacing and punctuation people type.
_NAME_TEXT = st.text(st.characters(categories=("L", "M", "N", "P", "Zs", "Cf")), max_size=60)
_PLATE_TEXT = st.text(st.characters(categories=("L", "M", "Nd", "Zs", "Pd")), max_size=15)


@_PROPERTY
@given(_NAME_TEXT, st.sampled_from(["person-name", "group-name"]))
def test_names_are_idempotent(text: str, type_: str) -> None:
    _assert_idempotent(type_, text, must_accept=False)


@_PROPERTY
@given(_PLATE_TEXT)
def test_vehicle_plates_are_idempotent(text: str) -> None:
    _assert_idempotent("vehicle-plate", text, must_accept=False)


@_PROPERTY
@given(st.binary(min_size=20, max_size=20), st.sampled_from([str.lower, str.upper]))
def test_single_case_ethereum_addresses_are_idempotent(
    raw: bytes, case: Callable[[str], str]
) -> None:
    _assert_idempotent("crypto-wallet", "0x" + case(raw.hex()), must_accept=True)


_HOSTISH = st.text(alphabet="abcXYZ019-._", min_size=1, max_size=80) | st.builds(
    ".".join,
    st.lists(
        st.text(alphabet="aZ9-", min_size=0, max_size=64) | st.just("xn--bcher-kva"),
        min_size=1,
        max_size=5,
    ),
)


@settings(database=None, deadline=None, max_examples=400)
@given(_HOSTISH)
def test_plain_ascii_hosts_take_the_short_way_to_the_same_answer(text: str) -> None:
    """Where the shortcut for plain host names answers, IDNA must give the same answer."""
    shortcut = _plain_host(text)
    if shortcut is not None:
        assert idna.encode(text, uts46=True).decode("ascii").removesuffix(".") == shortcut


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Example.COM", "example.com"), ("a-b.c0.example.", "a-b.c0.example"), ("x.y", "x.y")],
)
def test_plain_ascii_hosts_are_lower_cased_by_the_shortcut(text: str, expected: str) -> None:
    assert _plain_host(text) == expected


def test_hosts_idna_must_decide_are_left_to_it() -> None:
    for text in ("xn--bcher-kva.de", "ab--cd.example", "-lead.example", "a" * 64 + ".com"):
        assert _plain_host(text) is None
    assert normalize("domain-name", "XN--BCHER-KVA.de") == "xn--bcher-kva.de"
    with pytest.raises(ObservableError, match="hyphens"):
        normalize("domain-name", "ab--cd.example")
    with pytest.raises(ObservableError, match="digits"):
        normalize("domain-name", "example.123")
