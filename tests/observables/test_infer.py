"""Reading a value typed into the search box: the most telling type wins, the rest are offered."""

from __future__ import annotations

import pytest

from rsn.observables import ObservableError, read

IMO = "9074729"  # a real check digit
BOTH = "3035824"  # an IMO number's check digit holds, and it is a valid Bangladeshi number


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("http://Jobs-Abroad.Example/apply", "url", "http://jobs-abroad.example/apply"),
        ("Recruiter@Jobs-Abroad.Example", "email-addr", "Recruiter@jobs-abroad.example"),
        ("203.0.113.9", "ipv4-addr", "203.0.113.9"),
        ("2001:DB8::1", "ipv6-addr", "2001:db8::1"),
        ("D41D8CD98F00B204E9800998ECF8427E", "file-md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("+880 1712-345678", "phone-number", "+8801712345678"),
        (f"IMO {IMO}", "vessel-imo", f"IMO{IMO}"),
        (IMO, "vessel-imo", f"IMO{IMO}"),
        ("Jobs-Abroad.Example", "domain-name", "jobs-abroad.example"),
        ("412345678", "vessel-mmsi", "412345678"),
        ("DHA-GA 11", "vehicle-plate", "DHAGA11"),
        ("Rahim  UDDIN", "person-name", "rahim uddin"),
        ("GB82 WEST 1234 5698 7654 32", "bank-account", "GB82WEST12345698765432"),
    ],
)
def test_the_most_telling_reading_wins(typed: str, kind: str, value: str) -> None:
    found = read(typed, region="BD")
    assert (found.type, found.value) == (kind, value)
    assert kind not in found.others


def test_a_name_is_a_name_before_it_is_a_plate() -> None:
    """Plates accept any letters, but a word without a digit is far likelier a name."""
    found = read("Rahim Uddin")
    assert found.type == "person-name"
    assert found.others.index("group-name") < found.others.index("vehicle-plate")


def test_a_national_phone_number_is_read_in_the_searchers_state() -> None:
    assert read("01711-460983", region="BD").value == "+8801711460983"
    assert read("01711-460983", region="BD").type == "phone-number"
    # Without a state, or in another one, the same digits are no phone number.
    assert read("01711-460983").type != "phone-number"
    assert read("01711-460983", region="IN").type != "phone-number"


def test_a_bare_number_that_could_be_both_is_an_imo_number_and_offers_the_phone() -> None:
    found = read(BOTH, region="BD")
    assert (found.type, found.value) == ("vessel-imo", f"IMO{BOTH}")
    assert "phone-number" in found.others
    picked = read(BOTH, type_="phone-number", region="BD")
    assert (picked.type, picked.value) == ("phone-number", f"+880{BOTH}")
    assert "vessel-imo" in picked.others


def test_a_leading_trunk_zero_makes_the_phone_the_first_reading() -> None:
    assert read("0" + "1711460983", region="BD").type == "phone-number"


@pytest.mark.parametrize(
    ("typed", "kind", "words"),
    [
        ("   ", None, "is empty"),
        ("x" * 2049, None, "2049 characters long; the limit is 2048"),
        ("!!", None, "is not a value of any observable type"),
        ("+88 017", "phone-number", "not a valid phone number"),
        ("evil.example", "ipv4-addr", "not a valid IPv4 address"),
        ("evil.example", "colour", "not a known observable type"),
    ],
)
def test_what_cannot_be_read_says_why(typed: str, kind: str | None, words: str) -> None:
    with pytest.raises(ObservableError, match=words):
        read(typed, type_=kind, region="BD")
