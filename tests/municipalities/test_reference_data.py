"""The real reference data (municipalities/data/) and its loader: 357 municipalities, ten county
governors and Helsetilsynet; idempotent; mergers keep the old municipality and its orders."""

import csv
import datetime
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from stdnum.no import orgnr

from municipalities import services
from municipalities.models import Authority, Municipality
from tests import factories

COUNTY_PREFIX = {
    "03": "Oslo",
    "11": "Rogaland",
    "15": "Møre og Romsdal",
    "18": "Nordland",
    "31": "Østfold",
    "32": "Akershus",
    "33": "Buskerud",
    "34": "Innlandet",
    "39": "Vestfold",
    "40": "Telemark",
    "42": "Agder",
    "46": "Vestland",
    "50": "Trøndelag",
    "55": "Troms",
    "56": "Finnmark",
}


def _counts():
    return (
        Authority.objects.count(),
        Municipality.objects.count(),
        Authority.history.count(),
        Municipality.history.count(),
    )


def _write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _reference_rows():
    with services.MUNICIPALITIES_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))[1:]


# --- The files themselves ---------------------------------------------------------------------


def test_the_list_has_357_municipalities_with_unique_four_digit_numbers_and_consistent_counties():
    rows = services.read_municipalities()
    numbers = [r.number for r in rows]
    assert len(rows) == 357
    assert len(set(numbers)) == 357
    assert all(re.fullmatch(r"\d{4}", n) for n in numbers)
    assert "0301" in numbers  # leading zero kept
    for row in rows:
        assert COUNTY_PREFIX[row.number[:2]] == row.county, row
    assert {r.county for r in rows} == set(COUNTY_PREFIX.values())
    # No pre-2024 numbers (Viken 30xx, Vestfold og Telemark 38xx, Troms og Finnmark 54xx).
    assert not [n for n in numbers if n[:2] in {"30", "38", "54"}]


def test_official_names_keep_the_sami_and_kven_parallel_names():
    official = {r.number: r for r in services.read_municipalities()}
    assert official["5612"].official_name == "Guovdageaidnu - Kautokeino"
    assert official["5612"].name == "Kautokeino"
    assert official["5622"].official_name == "Porsanger - Porsáŋgu - Porsanki"
    assert official["5041"].official_name == "Snåase - Snåsa"
    assert official["5610"].official_name == "Kárášjohka - Karasjok"
    assert official["5610"].name == "Karasjok"
    assert official["0301"].official_name == "Oslo"


def test_ten_county_governors_and_helsetilsynet_with_valid_organisation_numbers():
    rows = services.read_authorities()
    kinds = [r.kind for r in rows]
    assert kinds.count(Authority.Kind.STATSFORVALTER) == 10
    assert kinds.count(Authority.Kind.HELSETILSYNET) == 1
    assert all(orgnr.is_valid(r.org_number) for r in rows)
    assert {r.org_number for r in rows if r.kind == "helsetilsynet"} == {"974761394"}
    covered = [c for r in rows for c in r.counties]
    assert sorted(covered) == sorted(COUNTY_PREFIX.values())  # 15 counties, each once


def test_the_changes_file_ships_empty():
    assert services.read_changes() == []


# --- Loading ----------------------------------------------------------------------------------


@pytest.fixture
def loaded(db):
    return services.load_reference_data()


def test_loading_creates_every_municipality_under_exactly_one_county_governor(loaded):
    assert len(loaded.municipalities.created) == 357
    assert len(loaded.authorities.created) == 11
    current = Municipality.objects.filter(valid_to__isnull=True)
    assert current.count() == 357
    assert Authority.objects.filter(kind=Authority.Kind.STATSFORVALTER).count() == 10
    assert Authority.objects.filter(kind=Authority.Kind.HELSETILSYNET).count() == 1
    counties_of = {row.org_number: set(row.counties) for row in services.read_authorities()}
    for municipality in current.select_related("authority"):
        governors = [
            org for org, counties in counties_of.items() if municipality.county in counties
        ]
        assert governors == [municipality.authority.org_number], municipality
        assert municipality.authority.kind == Authority.Kind.STATSFORVALTER
    oslo = Municipality.objects.get(number="0301")
    assert oslo.authority.name == "Statsforvalteren i Østfold, Buskerud, Oslo og Akershus"
    assert all(orgnr.is_valid(a.org_number) for a in Authority.objects.all())


def test_running_the_loader_twice_adds_no_rows_and_no_history(loaded):
    before = _counts()
    again = services.load_reference_data()
    assert _counts() == before
    assert not again.changed_anything
    assert len(again.municipalities.unchanged) == 357
    assert len(again.authorities.unchanged) == 11


def test_the_command_prints_a_summary_and_is_idempotent(db):
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    assert "Municipalities: 357 created, 0 updated, 0 unchanged, 0 ceased." in out.getvalue()
    before = _counts()
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    assert "Municipalities: 0 created, 0 updated, 357 unchanged, 0 ceased." in out.getvalue()
    assert "nothing changed" in out.getvalue()
    assert _counts() == before


def test_the_loader_records_the_acting_user_in_history(db):
    user = factories.UserFactory(username="referanse")
    services.load_reference_data(acting_user=user)
    assert Municipality.history.filter(number="0301").get().history_user == user


def test_existing_rows_are_updated_not_duplicated(db):
    # As conftest's world creates them: a factory authority and 4601 under it.
    vestland = factories.AuthorityFactory(name="Statsforvalteren i Vestland")
    bergen = factories.MunicipalityFactory(number="4601", name="Bergen", authority=vestland)
    summary = services.load_reference_data()
    bergen.refresh_from_db()
    vestland.refresh_from_db()
    # Matched by name (Bokmål or Nynorsk form), real number and official name filled in.
    assert vestland.org_number == "974760665"
    assert vestland.name == "Statsforvaltaren i Vestland"
    assert vestland in summary.authorities.updated
    assert bergen in summary.municipalities.updated
    assert (bergen.county, bergen.official_name) == ("Vestland", "Bergen")
    assert bergen.authority == vestland
    assert Municipality.objects.filter(number="4601").count() == 1
    assert Authority.objects.count() == 11


def test_a_merger_keeps_the_old_municipality_its_history_and_its_orders(loaded, tmp_path):
    karasjok = Municipality.objects.get(number="5610")
    authority = karasjok.authority
    caseworker = factories.caseworker_for(authority, username="sfft")
    gp = factories.HealthPersonnelFactory(municipality=karasjok)
    order = factories.issue_order(caseworker=caseworker, authority=authority, personnel=gp)
    history_before = karasjok.history.count()

    rows = [r for r in _reference_rows() if r[0] not in {"5610", "5612"}]
    rows.append(["5699", "Indre Finnmark", "Indre Finnmark", "Finnmark"])
    municipalities = _write(tmp_path / "kommuner.csv", services.MUNICIPALITY_COLUMNS, rows)
    changes = _write(
        tmp_path / "endringer.csv",
        services.CHANGE_COLUMNS,
        [
            ["5610", "5699", "2027-01-01", "Sammenslåing (testdata)"],
            ["5612", "5699", "2027-01-01", "Sammenslåing (testdata)"],
        ],
    )
    summary = services.load_reference_data(municipalities=municipalities, changes=changes)

    merged = Municipality.objects.get(number="5699")
    karasjok.refresh_from_db()
    assert karasjok.valid_to == datetime.date(2027, 1, 1)
    assert karasjok.successor == merged
    assert not karasjok.is_current
    assert karasjok.history.count() == history_before + 1
    assert Municipality.objects.get(number="5612").successor == merged
    order.refresh_from_db()
    assert order.municipality_id == karasjok.pk
    assert {m.number for m in summary.municipalities.ceased} == {"5610", "5612"}
    assert [m.number for m in summary.municipalities.created] == ["5699"]
    assert merged.authority == authority
    assert summary.unlisted == []
    assert Municipality.objects.filter(valid_to__isnull=True).count() == 356

    # The same files again: nothing changes.
    before = _counts()
    again = services.load_reference_data(municipalities=municipalities, changes=changes)
    assert _counts() == before
    assert not again.changed_anything


def test_a_municipality_missing_from_the_list_without_a_change_row_is_reported_not_deleted(
    loaded, tmp_path
):
    rows = [r for r in _reference_rows() if r[0] != "1151"]
    municipalities = _write(tmp_path / "kommuner.csv", services.MUNICIPALITY_COLUMNS, rows)
    out = StringIO()
    call_command("load_reference_data", municipalities=str(municipalities), stdout=out)
    utsira = Municipality.objects.get(number="1151")
    assert utsira.is_current
    assert "1151 Utsira" in out.getvalue() and "not deleted" in out.getvalue()


def test_a_renaming_records_the_old_name_in_history(loaded, tmp_path):
    rows = [
        ["1151", "Utsira", "Utsira - Testnavn", "Rogaland"] if r[0] == "1151" else r
        for r in _reference_rows()
    ]
    municipalities = _write(tmp_path / "kommuner.csv", services.MUNICIPALITY_COLUMNS, rows)
    summary = services.load_reference_data(municipalities=municipalities)
    assert [m.number for m in summary.municipalities.updated] == ["1151"]
    utsira = Municipality.objects.get(number="1151")
    assert utsira.official_name == "Utsira - Testnavn"
    assert [h.official_name for h in utsira.history.order_by("history_date")] == [
        "Utsira",
        "Utsira - Testnavn",
    ]


def test_a_bad_file_changes_nothing(db, tmp_path):
    rows = _reference_rows()
    rows.append(rows[0])  # 0301 twice
    municipalities = _write(tmp_path / "kommuner.csv", services.MUNICIPALITY_COLUMNS, rows)
    with pytest.raises(CommandError, match="duplicate municipality numbers: 0301"):
        call_command("load_reference_data", municipalities=str(municipalities), stdout=StringIO())
    assert _counts() == (0, 0, 0, 0)


def test_a_change_that_points_to_an_unknown_municipality_is_refused(loaded, tmp_path):
    changes = _write(
        tmp_path / "endringer.csv",
        services.CHANGE_COLUMNS,
        [["5610", "5699", "2027-01-01", ""]],
    )
    before = _counts()
    with pytest.raises(services.ReferenceDataError, match="5699"):
        services.load_reference_data(changes=changes)
    assert _counts() == before
