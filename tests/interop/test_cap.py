"""CAP 1.2 out and in: alerts RSN writes, public alerts it reads, update chains."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from rsn import clock
from rsn.errors import ValidationError
from rsn.interop.model import (
    ExportItem,
    VersionOut,
)
from rsn.reports.schemas import ReportCreate
from tests.interop.cap_support import (
    ATOM_NS,
    CAP_NS,
    NO_COUNTRY,
    NS,
    ORIGINATOR,
    OTHER,
    RID,
    alert_xml,
    checked,
    embedded_alerts,
    export,
    feed_xml,
    item,
    parse,
    problem_fields,
    sample,
    snapshot,
)

# --- the shipped schema -----------------------------------------------------------------


def test_shipped_schema_is_the_published_oasis_file() -> None:
    shipped = resources.files("rsn.interop.cap") / "schema" / "CAP-v1.2.xsd"
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert digest == "b7798ef25868b068c97b268bda02d067c7d4ba9373adc5638bf37105804ee723"
    notice = (resources.files("rsn.interop.cap") / "schema" / "NOTICE.md").read_text()
    assert "Copyright © OASIS® 2010" in notice


# --- export -----------------------------------------------------------------------------


def test_one_warning_is_one_valid_alert_chained_to_its_earlier_versions() -> None:
    later = snapshot(title="Mocha: surge now 4 m", modified="2026-05-14T09:15:30.123+00:00")
    written, document = export(item(snapshot(), later))
    [parsed] = checked(document)
    assert written == 1
    assert etree.fromstring(document).tag == f"{{{CAP_NS}}}alert"
    assert parsed["cap_id"] == f"{RID}.2"
    assert parsed["cap_sender"] == "bd-ddm@rsn-dhaka"
    assert (parsed["cap_sent"]) == "2026-05-14T09:15:30+00:00"
    assert (parsed["cap_status"], parsed["cap_message_type"]) == ("Actual", "Update")
    assert (parsed["cap_references"]) == f"bd-ddm@rsn-dhaka,{RID}.1,2026-05-14T07:00:00+00:00"
    assert parsed["cap_scope"] == "Restricted"
    assert "TLP:AMBER" in (parsed["cap_restriction"]) and "IN, MM" in parsed["cap_restriction"]
    [info] = parsed["cap_info"]
    assert (info["cap_category"], info["cap_event"]) == ("Met", "Cyclone")
    assert (info["cap_severity"], info["cap_certainty"], info["cap_urgency"]) == (
        "Extreme",
        "Observed",
        "Immediate",
    )
    assert info["cap_headline"] == "Mocha: surge now 4 m"
    assert str(info["cap_link"]) == f"https://rsn.example.org/reports/{RID}"
    [area] = info["cap_area"]
    assert area["area_description"] == "Bay of Bengal (Bangladesh)"
    assert area["circles"] == ["21.4272,92.0058 0"]
    assert area["geocodes"] == [{"valueName": "ISO3166-1-alpha-2", "value": "BD"}]
    params = {str(p["valueName"]): str(p["value"]) for p in info["cap_parameter"]}
    assert params["rsn:category"] == "disaster.cyclone" and params["rsn:tlp"] == "amber"


def test_several_warnings_are_an_atom_feed_of_valid_alerts_and_the_rest_skipped() -> None:
    flood = item(snapshot(category="disaster.flood", title="Flood"), report_id=OTHER)
    cyber = item(
        snapshot(category="cyber.attack"), report_id="11111111-2222-4333-8444-555555555555"
    )
    written, document = export(item(), cyber, flood)
    parsed = checked(document)
    assert written == 2
    assert etree.fromstring(document).tag == f"{{{ATOM_NS}}}feed"
    assert [a["cap_id"] for a in parsed] == [f"{RID}.1", f"{OTHER}.1"]
    assert [a["cap_message_type"] for a in parsed] == ["Alert", "Alert"]


@pytest.mark.parametrize(
    ("category", "cap_categories"),
    [
        ("disaster", ["Geo", "Met"]),
        ("disaster.earthquake", ["Geo"]),
        ("disaster.landslide", ["Geo", "Met"]),  # a region's sub-category counts with its parent
        ("health.epidemic", ["Health"]),
        ("terrorism.attack", ["Security"]),
        ("political.civil-unrest", ["Safety"]),
        ("energy.supply-disruption", ["Infra"]),
        ("environmental-crime.pollution", ["Env"]),
        ("terrorism.violent-extremism", None),
        ("cyber.attack", None),
        ("organized-crime.human-trafficking", None),
        ("maritime.piracy", None),
    ],
)
def test_which_categories_are_warnings(category: str, cap_categories: list[str] | None) -> None:
    written, document = export(item(snapshot(category=category)))
    if cap_categories is None:
        assert written == 0
        assert embedded_alerts(document) == []  # an empty, valid feed
        return
    [alert] = embedded_alerts(document)
    checked(document)
    assert [c.text for c in alert.iterfind("cap:info/cap:category", NS)] == cap_categories


@pytest.mark.parametrize(
    ("tlp", "scope", "restriction", "addresses"),
    [
        ("clear", "Public", None, None),
        ("green", "Restricted", "TLP:GREEN", None),
        ("amber", "Restricted", "TLP:AMBER", None),
        ("amber+strict", "Private", None, "bd-ddm in-cert"),
        ("red", "Private", None, "bd.analyst in.analyst"),
    ],
)
def test_tlp_decides_the_scope(
    tlp: str, scope: str, restriction: str | None, addresses: str | None
) -> None:
    dist = {
        "member_states": [],
        "organizations": ["in-cert"],
        "sharing_groups": [],
        "users": ["in.analyst"],
    }
    _, document = export(item(snapshot(tlp=tlp, distribution=dist)))
    [parsed] = checked(document)
    assert parsed["cap_scope"] == scope
    if restriction:
        assert (parsed["cap_restriction"]).startswith(restriction)
    else:
        assert "cap_restriction" not in parsed
    assert ((parsed["cap_addresses"]) if addresses else None) == addresses


def test_a_revoked_report_is_a_cancel_that_revokes_on_import() -> None:
    revoked = snapshot(
        modified="2026-05-15T01:00:00.000+00:00",
        revoked=True,
        revoked_reason="Duplicate of the DDM bulletin.",
        revoked_at="2026-05-15T01:00:00.000+00:00",
    )
    _, document = export(item(snapshot(), revoked))
    [parsed] = checked(document)
    assert (parsed["cap_message_type"], parsed["cap_note"]) == ("Cancel", revoked["revoked_reason"])
    assert parsed["cap_info"][0]["cap_urgency"] == "Past"
    [back] = parse(document)
    [version] = back.versions
    assert version.revoked and version.revoked_reason == "Duplicate of the DDM bulletin."
    assert back.external_id == f"{RID}.1"


def test_a_last_version_alone_still_references_the_first() -> None:
    current = VersionOut(3, 9, clock.now(), snapshot(modified="2026-05-16T00:00:00+00:00"))
    _, document = export(ExportItem(RID, ORIGINATOR, [current]))
    [parsed] = checked(document)
    assert parsed["cap_message_type"] == "Update"
    assert (parsed["cap_references"]) == f"bd-ddm@rsn-dhaka,{RID}.1,2026-05-14T07:00:00+00:00"
    assert parse(document)[0].external_id == f"{RID}.1"


# --- round trip -------------------------------------------------------------------------

KEPT_FIELDS = (
    "title",
    "category",
    "description",
    "occurred_at",
    "country",
    "location",
    "sea_area",
    "severity",
    "confidence",
    "source_reliability",
    "information_credibility",
    "tlp",
    "distribution",
    "observables",
)


def as_report(snap: dict[str, Any]) -> dict[str, Any]:
    fields = {k: snap[k] for k in KEPT_FIELDS}
    return ReportCreate.model_validate(fields).model_dump()


def test_round_trip_keeps_every_report_field_and_the_versions_key() -> None:
    first, later = snapshot(), snapshot(title="Mocha weakens", severity="high", confidence=60)
    later["modified"] = "2026-05-14T10:00:00.000+00:00"
    _, document = export(item(first, later))
    [back] = parse(document)
    assert (back.source, back.external_id, back.preferred_id) == (
        "bd-ddm@rsn-dhaka",
        f"{RID}.1",
        RID,
    )
    assert back.source_identity == "Department of Disaster Management"
    [version] = back.versions
    assert version.data.model_dump() == as_report(later)
    assert version.created == datetime(2026, 5, 14, 7, tzinfo=UTC)
    assert version.modified == datetime(2026, 5, 14, 10, tzinfo=UTC)
    assert back.kept == []


reports = st.fixed_dictionaries(
    {
        "title": st.text(
            st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]),
            min_size=1,
            max_size=40,
        ).filter(lambda t: t.strip() == t and t.strip()),
        "description": st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
            max_size=60,
        ).filter(lambda t: t.strip() == t and no_control(t)),
        "category": st.sampled_from(
            ["disaster", "disaster.flood", "health.pandemic", "terrorism.attack"]
        ),
        "occurred_at": st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
        ).map(lambda d: d.replace(microsecond=0).isoformat()),
        "location": st.none()
        | st.fixed_dictionaries(
            {
                "lat": st.floats(-90, 90, allow_nan=False),
                "lon": st.floats(-180, 180, allow_nan=False),
            }
        ),
        "sea_area": st.none() | st.sampled_from(["Bay of Bengal", "Andaman Sea"]),
        "severity": st.sampled_from(["low", "medium", "high", "critical"]),
        "confidence": st.integers(0, 100),
        "source_reliability": st.sampled_from("ABCDEF"),
        "information_credibility": st.sampled_from("123456"),
        "tlp": st.sampled_from(["clear", "green", "amber", "amber+strict", "red"]),
        "country": st.sampled_from(["BD", "IN", "MM", "LK", "NP", "BT", "TH"]),
    }
)


def no_control(text: str) -> bool:
    return not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]", text)


@given(fields=reports)
def test_round_trip_property(fields: dict[str, Any]) -> None:
    snap = snapshot(**fields)
    _, document = export(item(snap))
    checked(document)
    [back] = parse(document)
    assert back.versions[0].data.model_dump() == as_report(snap)


def test_characters_xml_cannot_carry_are_replaced_not_fatal() -> None:
    _, document = export(item(snapshot(title="Flood \uffff alert", description="a\ufffeb")))
    [parsed] = checked(document)
    info = parsed["cap_info"][0]
    assert (info["cap_headline"], info["cap_description"]) == ("Flood \ufffd alert", "a\ufffdb")


# --- import of public samples -----------------------------------------------------------


def test_oasis_thunderstorm_warning() -> None:
    [report] = parse(sample("oasis-cap12-a2-thunderstorm.xml"))
    data = report.versions[0].data
    assert (report.source, report.external_id) == ("KSTO@NWS.NOAA.GOV", "KSTO1055887203")
    assert report.source_identity == "NATIONAL WEATHER SERVICE SACRAMENTO CA"
    assert (data.title, data.category, data.severity, data.confidence, data.tlp) == (
        "SEVERE THUNDERSTORM WARNING",
        "disaster.cyclone",  # "a tropical cyclone, typhoon or severe storm"
        "high",
        95,
        "clear",
    )
    assert data.occurred_at == datetime(2003, 6, 17, 21, 57, tzinfo=UTC)
    assert data.country == "IN"  # SAME county codes name no country: the importer's
    assert data.location is not None  # the polygon's centroid lies inside its bounds
    assert 38.34 < data.location.lat < 38.62 and -120.14 < data.location.lon < -119.74
    assert data.description.startswith("AT 254 PM PDT")
    [extra] = report.kept
    assert extra["type"] == "cap-extra"
    assert extra["cap"]["eventCode"] == [{"valueName": "SAME", "value": "SVR"}]
    assert extra["cap"]["instruction"] == [
        "TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES."
    ]


def test_oasis_earthquake_update_is_keyed_by_the_alert_it_updates() -> None:
    [report] = parse(sample("oasis-cap12-a3-earthquake-update.xml"))
    [version] = report.versions
    assert (report.source, report.external_id) == ("trinet@caltech.edu", "TRI13970876.1")
    assert version.created == datetime(2003, 6, 12, 3, 30, tzinfo=UTC)
    assert version.modified == datetime(2003, 6, 12, 3, 56, tzinfo=UTC)
    data = version.data
    assert (data.category, data.severity, data.title) == (
        "disaster.earthquake",
        "low",
        "EQ 3.4 Imperial County CA",
    )
    assert data.location is not None
    assert (data.location.lat, data.location.lon) == (32.9525, -115.5527)
    params = report.kept[0]["cap"]["parameter"]
    assert {"valueName": "Magnitude", "value": "3.4 Ml"} in params


def test_oasis_homeland_security_advisory_keeps_its_resource() -> None:
    [report] = parse(sample("oasis-cap12-a1-homeland-security.xml"))
    data = report.versions[0].data
    assert (data.category, data.severity, data.confidence) == ("terrorism", "high", 70)
    resource, extra = report.kept
    assert resource == {
        "type": "cap-resource",
        "id": "43b080713727#resource-0",
        "cap": {
            "resourceDesc": "Image file (GIF)",
            "mimeType": "image/gif",
            "uri": "http://www.dhs.gov/dhspublic/getAdvisoryImage",
        },
    }
    assert extra["cap"]["parameter"] == [{"valueName": "HSAS", "value": "ORANGE"}]


def test_an_alert_no_category_fits_is_a_clear_error() -> None:
    with pytest.raises(ValidationError) as exc:
        parse(sample("oasis-cap12-a4-amber-alert.xml"))
    assert problem_fields(exc) == ["alert.info[0].category"]
    assert "'Rescue'" in str(exc.value) and "rsn:category" in str(exc.value)


def test_kept_resources_and_other_languages_are_written_back() -> None:
    fixed = sample("oasis-cap12-a4-amber-alert.xml").replace(
        b"</contact>\n        <area>\n            <areaDesc>Los Angeles County",
        b"</contact>\n        <parameter><valueName>rsn:category</valueName>"
        b"<value>organized-crime.human-trafficking</value></parameter>"
        b"\n        <area>\n            <areaDesc>Los Angeles County",
        1,
    )
    [report] = parse(fixed)
    assert [k["type"] for k in report.kept] == ["cap-info", "cap-extra"]
    snap = snapshot(category="health.epidemic", tlp="clear")
    again = ExportItem(RID, ORIGINATOR, [VersionOut(1, 1, clock.now(), snap)], report.kept)
    _, document = export(again)
    [parsed] = checked(document)
    assert [i.get("cap_language") for i in parsed["cap_info"]] == [None, "es-US"]
    assert parsed["cap_info"][1]["cap_headline"] == "Alerta Amber en el condado de Los Ángeles"


# --- update chains ----------------------------------------------------------------------


def test_updates_and_a_cancel_in_one_feed_are_versions_of_one_report() -> None:
    first = alert_xml("FF-1", sent="2026-07-01T06:00:00+06:00", headline="Flood watch")
    update = alert_xml(
        "FF-2",
        "Update",
        references="ffwc@bwdb.gov.bd,FF-1,2026-07-01T06:00:00+06:00",
        sent="2026-07-01T09:00:00+06:00",
        headline="Flood warning",
    )
    cancel = alert_xml(
        "FF-3",
        "Cancel",
        references="ffwc@bwdb.gov.bd,FF-2,2026-07-01T09:00:00+06:00",
        sent="2026-07-02T09:00:00+06:00",
        info=False,
        note="Waters receding",
    )
    other = alert_xml("FF-9", sent="2026-07-01T07:00:00+06:00", headline="Other flood")
    reports = parse(feed_xml(cancel, first, other, update), NO_COUNTRY)
    assert [(r.external_id, len(r.versions)) for r in reports] == [("FF-1", 3), ("FF-9", 1)]
    chain = reports[0].versions
    assert [v.data.title for v in chain] == ["Flood watch", "Flood warning", "Flood warning"]
    assert [v.revoked for v in chain] == [False, False, True]
    assert chain[2].revoked_reason == "Waters receding"
    assert {v.created for v in chain} == {datetime(2026, 7, 1, tzinfo=UTC)}
    assert chain[0].data.country == "BD"  # "Sylhet, Bangladesh"


def test_a_cancel_without_info_or_its_original_is_refused() -> None:
    cancel = alert_xml(
        "FF-3", "Cancel", references="ffwc@bwdb.gov.bd,FF-2,2026-07-01T09:00:00+06:00", info=False
    )
    with pytest.raises(ValidationError) as exc:
        parse(cancel.encode())
    assert problem_fields(exc) == ["alert.info"]
