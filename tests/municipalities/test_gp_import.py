"""The GP register import (fastlegeregister CSV): what it creates, updates and leaves alone,
what it rejects (line by line, the good rows still imported), and the files it refuses whole.

Messages are checked in English (the msgids); codes and line numbers are the contract.
"""

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from municipalities.gp_register import GPRegisterFileError, import_gp_register
from municipalities.models import GPOffice, HealthPersonnel
from tests import factories

HEADER = (
    "hpr_nummer;lege_navn;kommunenummer;legekontor;legekontor_orgnr;"
    "adresse;postnummer;poststed;listelengde;ledig_liste"
)
COLUMNS = HEADER.split(";")
EXAMPLE = Path(__file__).resolve().parents[2] / "municipalities/data/fastlegeregister-eksempel.csv"

ORG_A = factories.valid_org_number(7001)
ORG_B = factories.valid_org_number(7002)
ORG_C = factories.valid_org_number(7003)

GOOD = [
    {
        "hpr_nummer": "1000001",
        "lege_navn": "Kari Nordmann",
        "kommunenummer": "0301",
        "legekontor": "Majorstuen legesenter",
        "legekontor_orgnr": ORG_A,
        "adresse": "Kirkeveien 64",
        "postnummer": "0364",
        "poststed": "Oslo",
        "listelengde": "1200",
        "ledig_liste": "nei",
    },
    {
        "hpr_nummer": "1000002",
        "lege_navn": "Ola Hansen",
        "kommunenummer": "0301",
        "legekontor": "Majorstuen legesenter",
        "legekontor_orgnr": ORG_A,
        "adresse": "Kirkeveien 64",
        "postnummer": "0364",
        "poststed": "Oslo",
        "listelengde": "950",
        "ledig_liste": "ja",
    },
    {
        "hpr_nummer": "100000003",
        "lege_navn": "Åse Bjørnstad",
        "kommunenummer": "4601",
        "legekontor": "Fløen legekontor",
        "legekontor_orgnr": ORG_B,
        "adresse": "Fløensbakken 2",
        "postnummer": "5009",
        "poststed": "Bergen",
        "listelengde": "1 500",
        "ledig_liste": "Nei",
    },
]


def row(base=0, **changes):
    return {**GOOD[base], **changes}


def csv_bytes(rows, header=HEADER, *, encoding="utf-8", bom=False, newline="\n"):
    columns = header.split(";")
    lines = [header] + [";".join(r.get(c, "") for c in columns) for r in rows]
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def history_count():
    return HealthPersonnel.history.count() + GPOffice.history.count()


def by_line(summary):
    return {rejection.line: rejection for rejection in summary.rejections}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def oslo(db):
    return factories.MunicipalityFactory(number="0301", name="Oslo")


@pytest.fixture
def bergen(db):
    return factories.MunicipalityFactory(number="4601", name="Bergen")


@pytest.fixture
def importer(db):
    return factories.UserFactory(username="importor", first_name="Ida", last_name="Import")


@pytest.fixture
def imported(oslo, bergen, importer):
    return import_gp_register(csv_bytes(GOOD), acting_user=importer)


# A good file -----------------------------------------------------------------------------------


def test_a_good_file_creates_gps_and_offices(imported, oslo, bergen, importer):
    assert (imported.created, imported.updated, imported.unchanged, imported.rejected) == (
        3,
        0,
        0,
        0,
    )
    assert (imported.offices_created, imported.offices_updated) == (2, 0)
    assert imported.rows == 3

    kari = HealthPersonnel.objects.get(hpr_number="1000001")
    assert kari.name == "Kari Nordmann"
    assert kari.profession == HealthPersonnel.Profession.DOCTOR
    assert kari.municipality == oslo
    assert (kari.list_size, kari.list_open) == (1200, False)
    assert kari.user is None
    office = kari.gp_office
    assert (office.name, office.org_number, office.municipality) == (
        "Majorstuen legesenter",
        ORG_A,
        oslo,
    )
    assert (office.address, office.postal_code, office.postal_town) == (
        "Kirkeveien 64",
        "0364",
        "Oslo",
    )
    aase = HealthPersonnel.objects.get(hpr_number="100000003")
    assert (aase.name, aase.municipality, aase.list_size, aase.list_open) == (
        "Åse Bjørnstad",
        bergen,
        1500,
        False,
    )
    assert HealthPersonnel.objects.get(hpr_number="1000002").gp_office == office

    created = kari.history.get()
    assert created.history_type == "+"
    assert created.history_user == importer
    assert office.history.get().history_user == importer


def test_utf8_with_bom_and_windows_line_ends(oslo, bergen):
    summary = import_gp_register(csv_bytes(GOOD, bom=True, newline="\r\n"))
    assert (summary.created, summary.rejected) == (3, 0)
    assert HealthPersonnel.objects.get(hpr_number="100000003").name == "Åse Bjørnstad"


def test_reads_a_path_and_a_binary_file(oslo, bergen, tmp_path):
    path = tmp_path / "fastleger.csv"
    path.write_bytes(csv_bytes(GOOD[:1]))
    assert import_gp_register(path).created == 1
    with open(path, "rb") as file:
        assert import_gp_register(file).unchanged == 1
    assert HealthPersonnel.objects.get().history.get().history_change_reason == (
        "fastlegeregister fastleger.csv"
    )


def test_the_example_file_imports_cleanly(db):
    for number in ("0301", "3201", "4601", "4621", "5001"):
        factories.MunicipalityFactory(number=number)
    summary = import_gp_register(EXAMPLE)
    assert (summary.created, summary.rejected, summary.ignored_columns) == (30, 0, [])
    assert summary.offices_created == 8


def test_a_spreadsheet_dropped_leading_zero_is_restored(oslo):
    summary = import_gp_register(csv_bytes([row(kommunenummer="301", postnummer="364")]))
    assert summary.created == 1
    kari = HealthPersonnel.objects.get()
    assert (kari.municipality, kari.gp_office.postal_code) == (oslo, "0364")


def test_unknown_columns_are_ignored_and_a_birth_number_is_never_stored(oslo):
    header = "fodselsnummer;" + HEADER + ";merknad"
    data = csv_bytes([row(fodselsnummer="01017012345", merknad="ny")], header)
    summary = import_gp_register(data)
    assert (summary.created, summary.ignored_columns) == (1, ["fodselsnummer", "merknad"])
    stored = HealthPersonnel.objects.values().get()
    assert "01017012345" not in str(stored)
    assert "01017012345" not in str(list(HealthPersonnel.history.values()))


def test_a_header_only_file_imports_nothing(db):
    summary = import_gp_register(csv_bytes([]))
    assert (summary.rows, summary.created, summary.rejected) == (0, 0, 0)


def test_blank_lines_are_skipped_and_line_numbers_count_them(oslo):
    data = (
        csv_bytes([row()])
        + b"\n;;;;;;;;;\n"
        + csv_bytes([row(hpr_nummer="12ab")])[len(HEADER) + 1 :]
    )
    summary = import_gp_register(data)
    assert summary.created == 1
    assert list(by_line(summary)) == [5]


# Idempotence and updates -----------------------------------------------------------------------


def test_the_same_file_twice_changes_nothing(imported, oslo, bergen):
    before = history_count()
    again = import_gp_register(csv_bytes(GOOD), acting_user=factories.UserFactory())
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert (again.offices_created, again.offices_updated) == (0, 0)
    assert history_count() == before


def test_a_changed_file_updates_and_history_shows_who_and_what(imported, importer):
    other = factories.UserFactory(username="annen.importor")
    changed = [
        row(0, lege_navn="Kari Nordmann Berg"),
        row(1, listelengde="1000", ledig_liste="nei"),
        row(2),
    ]
    summary = import_gp_register(csv_bytes(changed), acting_user=other)
    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (0, 2, 1, 0)

    kari = HealthPersonnel.objects.get(hpr_number="1000001")
    latest, previous = kari.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_type == "~"
    assert latest.history_user == other
    assert previous.history_user == importer
    delta = latest.diff_against(previous)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("name", "Kari Nordmann", "Kari Nordmann Berg")
    ]

    ola = HealthPersonnel.objects.get(hpr_number="1000002")
    latest = ola.history.order_by("-history_date", "-history_id").first()
    delta = latest.diff_against(latest.prev_record)
    assert sorted((c.field, c.old, c.new) for c in delta.changes) == [
        ("list_open", True, False),
        ("list_size", 950, 1000),
    ]
    assert HealthPersonnel.objects.get(hpr_number="100000003").history.count() == 1


def test_an_office_change_is_an_office_update_with_history(imported, importer):
    moved = [row(0, adresse="Kirkeveien 66"), row(1, adresse="Kirkeveien 66"), row(2)]
    summary = import_gp_register(csv_bytes(moved), acting_user=importer)
    assert (summary.offices_updated, summary.updated, summary.unchanged) == (1, 0, 3)
    office = GPOffice.objects.get(org_number=ORG_A)
    latest = office.history.order_by("-history_date", "-history_id").first()
    delta = latest.diff_against(latest.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("address", "Kirkeveien 64", "Kirkeveien 66")
    ]
    assert latest.history_user == importer


def test_a_gp_moving_office_is_an_update(imported):
    summary = import_gp_register(
        csv_bytes([row(0, legekontor="Ny legegruppe", legekontor_orgnr=ORG_C)])
    )
    assert (summary.updated, summary.offices_created) == (1, 1)
    assert HealthPersonnel.objects.get(hpr_number="1000001").gp_office.org_number == ORG_C


def test_an_hpr_number_stored_under_another_name_is_updated(oslo, importer):
    login = factories.UserFactory(username="kari")
    stored = factories.HealthPersonnelFactory(
        hpr_number="1000001",
        name="Kari Olsen",
        municipality=oslo,
        profession=HealthPersonnel.Profession.NURSE,
        user=login,
    )
    summary = import_gp_register(csv_bytes([row()]), acting_user=importer)
    assert (summary.created, summary.updated) == (0, 1)
    stored.refresh_from_db()
    assert stored.name == "Kari Nordmann"
    # The register decides name, place and list; not the profession or the login.
    assert (stored.profession, stored.user) == (HealthPersonnel.Profession.NURSE, login)
    latest = stored.history.order_by("-history_date", "-history_id").first()
    changes = {c.field: (c.old, c.new) for c in latest.diff_against(latest.prev_record).changes}
    assert changes["name"] == ("Kari Olsen", "Kari Nordmann")
    assert latest.history_user == importer


def test_gps_missing_from_the_file_are_left_alone(imported):
    summary = import_gp_register(csv_bytes(GOOD[:1]))
    assert summary.unchanged == 1
    assert HealthPersonnel.objects.count() == 3


def test_optional_columns_left_out_keep_the_stored_values(imported):
    header = ";".join(c for c in COLUMNS if c not in {"adresse", "postnummer", "poststed"})
    summary = import_gp_register(csv_bytes(GOOD, header))
    assert (summary.unchanged, summary.offices_updated) == (3, 0)
    assert GPOffice.objects.get(org_number=ORG_A).address == "Kirkeveien 64"


def test_optional_columns_given_blank_clear_the_stored_values(imported):
    cleared = [row(0, adresse=""), row(1, adresse=""), row(2)]
    summary = import_gp_register(csv_bytes(cleared))
    assert summary.offices_updated == 1
    assert GPOffice.objects.get(org_number=ORG_A).address == ""


# Bad rows --------------------------------------------------------------------------------------

BAD_ROWS = {
    "hpr with letters": (row(hpr_nummer="12ab"), "invalid_hpr", "invalid HPR number «12ab»"),
    "hpr too short": (row(hpr_nummer="123456"), "invalid_hpr", "«123456»"),
    "hpr too long": (row(hpr_nummer="1234567890"), "invalid_hpr", "«1234567890»"),
    "unknown municipality": (
        row(kommunenummer="9999"),
        "unknown_municipality",
        "unknown municipality number «9999»",
    ),
    "municipality not a number": (
        row(kommunenummer="Oslo"),
        "invalid_municipality",
        "«Oslo»",
    ),
    "bad check digit": (
        row(legekontor_orgnr="123456789"),
        "invalid_org_number",
        "invalid organisation number «123456789»",
    ),
    "org number too short": (row(legekontor_orgnr="12345"), "invalid_org_number", "«12345»"),
    "list size not a number": (
        row(listelengde="mange"),
        "invalid_list_size",
        "list size «mange» is not a whole number",
    ),
    "list size with decimals": (row(listelengde="12,5"), "invalid_list_size", "«12,5»"),
    "list size negative": (row(listelengde="-3"), "invalid_list_size", "«-3»"),
    "list size implausible": (row(listelengde="250000"), "invalid_list_size", "250000"),
    "open list not ja/nei": (
        row(ledig_liste="kanskje"),
        "invalid_list_open",
        "ledig_liste must be «ja» or «nei», not «kanskje»",
    ),
    "missing name": (row(lege_navn=""), "missing_value", "no value in lege_navn"),
    "missing hpr": (row(hpr_nummer=""), "missing_value", "no value in hpr_nummer"),
    "missing org number": (
        row(legekontor_orgnr=""),
        "missing_value",
        "no value in legekontor_orgnr",
    ),
    "missing list size": (row(listelengde=""), "missing_value", "no value in listelengde"),
    "bad postal code": (row(postnummer="03640"), "invalid_postal_code", "«03640»"),
    "name too long": (row(lege_navn="K" * 201), "too_long", "lege_navn is longer than 200"),
    "control character": (
        row(lege_navn="Kari\x07Nordmann"),
        "control_character",
        "lege_navn contains a control character",
    ),
    "a semicolon too many": (
        row(lege_navn="Nordmann; Kari"),
        "field_count",
        "the line has 11 fields, the header 10",
    ),
}


@pytest.mark.parametrize("bad, code, text", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_is_rejected_with_its_line_and_the_good_rows_imported(
    oslo, bergen, bad, code, text
):
    summary = import_gp_register(csv_bytes([GOOD[1], bad, GOOD[2]]))
    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (2, 0, 0, 1)
    rejection = summary.rejections[0]
    assert rejection.line == 3
    assert code in rejection.codes
    assert text in rejection.message
    assert set(HealthPersonnel.objects.values_list("hpr_number", flat=True)) == {
        "1000002",
        "100000003",
    }


def test_every_kind_of_bad_row_in_one_file(oslo, bergen):
    # Each bad row gets an HPR number of its own (unless bad HPR is the point), so that they
    # are not also duplicates of each other.
    bad_rows = []
    for n, (bad, _code, _text) in enumerate(BAD_ROWS.values()):
        own = bad["hpr_nummer"] != GOOD[0]["hpr_nummer"]
        bad_rows.append({**bad, "hpr_nummer": bad["hpr_nummer"] if own else str(2_000_000 + n)})
    summary = import_gp_register(csv_bytes([GOOD[0], *bad_rows, GOOD[1], GOOD[2]]))
    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    assert summary.rejected == len(BAD_ROWS)
    lines = by_line(summary)
    assert sorted(lines) == list(range(3, 3 + len(BAD_ROWS)))
    for line, (_bad, code, text) in enumerate(BAD_ROWS.values(), start=3):
        assert code in lines[line].codes, line
        assert text in lines[line].message, line


def test_a_stray_quote_spoils_its_own_line_only(oslo, bergen):
    summary = import_gp_register(csv_bytes([row(1, lege_navn='"Ola Hansen'), GOOD[0], GOOD[2]]))
    assert (summary.created, summary.rejected) == (2, 1)
    (rejection,) = summary.rejections
    assert (rejection.line, rejection.codes) == (2, ["field_count"])


def test_all_problems_of_a_row_are_reported(oslo):
    summary = import_gp_register(
        csv_bytes([row(hpr_nummer="12ab", listelengde="x", ledig_liste="kanskje")])
    )
    (rejection,) = summary.rejections
    assert rejection.codes == ["invalid_hpr", "invalid_list_size", "invalid_list_open"]
    assert rejection.message.count(";") == 2


def test_a_ceased_municipality_is_rejected_naming_its_successor(bergen):
    factories.MunicipalityFactory(
        number="1201", name="Bergen", valid_to=date(2019, 12, 31), successor=bergen
    )
    summary = import_gp_register(csv_bytes([row(2, kommunenummer="1201")]))
    (rejection,) = summary.rejections
    assert rejection.codes == ["ceased_municipality"]
    assert "2019-12-31" in rejection.message
    assert "4601" in rejection.message


def test_a_birth_number_is_never_echoed(oslo):
    summary = import_gp_register(csv_bytes([row(hpr_nummer="01017012345")]))
    (rejection,) = summary.rejections
    assert rejection.codes == ["invalid_hpr"]
    assert "01017012345" not in rejection.message
    assert "01017012345" not in rejection.hpr_number
    assert "11 digits, not shown" in rejection.message


def test_duplicate_hpr_with_conflicting_names_rejects_all_of_them(oslo, bergen):
    rows = [
        row(0),
        row(1),
        row(0, lege_navn="Karin Nordmann"),
        row(2),
        row(0, lege_navn="Kari Nordman"),
    ]
    summary = import_gp_register(csv_bytes(rows))
    assert (summary.created, summary.rejected) == (2, 3)
    lines = by_line(summary)
    assert sorted(lines) == [2, 4, 6]
    for rejection in lines.values():
        assert rejection.codes == ["duplicate_hpr_conflicting_names"]
        assert "HPR number 1000001 is on lines 2, 4, 6 with different names" in rejection.message
    assert not HealthPersonnel.objects.filter(hpr_number="1000001").exists()


def test_duplicate_hpr_with_the_same_name_but_other_details_rejects_all(oslo):
    summary = import_gp_register(csv_bytes([row(0), row(0, listelengde="1300")]))
    assert (summary.created, summary.rejected) == (0, 2)
    assert {tuple(r.codes) for r in summary.rejections} == {("duplicate_hpr_conflicting_details",)}


def test_an_identical_repeat_is_imported_once(oslo):
    summary = import_gp_register(csv_bytes([row(0), row(1), row(0)]))
    assert (summary.created, summary.rejected) == (2, 1)
    (rejection,) = summary.rejections
    assert (rejection.line, rejection.codes) == (4, ["duplicate_hpr_repeated"])
    assert "repeats line 2" in rejection.message


def test_an_office_given_other_details_later_is_rejected_on_that_line(oslo):
    summary = import_gp_register(csv_bytes([row(0), row(1, legekontor="Majorstua legesenter")]))
    assert (summary.created, summary.rejected) == (1, 1)
    (rejection,) = summary.rejections
    assert (rejection.line, rejection.codes) == (3, ["office_conflict"])
    assert f"GP office {ORG_A} has other details on line 2 (legekontor)" in rejection.message
    assert GPOffice.objects.get().name == "Majorstuen legesenter"


def test_a_bad_row_writes_nothing_at_all(oslo, importer):
    stored = factories.HealthPersonnelFactory(
        hpr_number="1000001", name="Kari Olsen", municipality=oslo
    )
    before = history_count()
    rows = [
        # A known GP renamed, at a new office, but with a bad open-list value.
        row(0, legekontor="Ny legegruppe", legekontor_orgnr=ORG_C, ledig_liste="kanskje"),
        # A new GP at a new office, with a bad list size.
        row(1, legekontor="Annen legegruppe", legekontor_orgnr=ORG_B, listelengde="mange"),
    ]
    summary = import_gp_register(csv_bytes(rows), acting_user=importer)
    assert (summary.created, summary.updated, summary.rejected) == (0, 0, 2)
    stored.refresh_from_db()
    assert (stored.name, stored.gp_office, stored.list_open) == ("Kari Olsen", None, None)
    assert not GPOffice.objects.exists()
    assert HealthPersonnel.objects.count() == 1
    assert history_count() == before


def test_a_database_failure_while_writing_leaves_nothing_behind(oslo, bergen, monkeypatch):
    from django.db import IntegrityError

    from municipalities import gp_register

    def fail(*args, **kwargs):
        raise IntegrityError("duplicate key (simulated)")

    monkeypatch.setattr(gp_register, "_save_changed", fail)
    with pytest.raises(GPRegisterFileError, match="nothing was written"):
        import_gp_register(csv_bytes(GOOD))
    assert not GPOffice.objects.exists()
    assert not HealthPersonnel.objects.exists()
    assert history_count() == 0


def test_names_are_normalised_so_a_macos_export_imports_the_same(imported):
    import unicodedata

    decomposed = [row(0), row(1), row(2, lege_navn=unicodedata.normalize("NFD", "Åse  Bjørnstad "))]
    summary = import_gp_register(csv_bytes(decomposed))
    assert (summary.unchanged, summary.updated) == (3, 0)


# Files refused as a whole ----------------------------------------------------------------------

BAD_FILES = {
    "latin-1": (csv_bytes(GOOD, encoding="latin-1"), "not UTF-8"),
    "cp1252": (csv_bytes(GOOD, encoding="cp1252"), "Windows-1252"),
    "utf-16": (csv_bytes(GOOD, encoding="utf-16"), "UTF-16"),
    "utf-16 without bom": (csv_bytes(GOOD, encoding="utf-16-le"), "NUL characters"),
    "double-encoded": (
        csv_bytes(GOOD).decode("cp1252", "replace").encode("utf-8"),
        "converted to UTF-8 twice",
    ),
    "commas": (csv_bytes(GOOD).replace(b";", b","), "separated by commas"),
    "tabs": (csv_bytes(GOOD).replace(b";", b"\t"), "separated by tabs"),
    "empty": (b"", "The file is empty."),
    "only blank lines": (b"\n\r\n  \n", "The file is empty."),
    "only a bom": (b"\xef\xbb\xbf", "The file is empty."),
    "no header": (csv_bytes(GOOD)[len(HEADER) + 1 :], "The first line must be the header"),
    "unknown header": (
        csv_bytes(GOOD, "a;b;c;d;e;f;g;h;i;j"),
        "The first line must be the header",
    ),
    "header lacks a column": (
        csv_bytes(GOOD, HEADER.replace("listelengde", "liste")),
        "lacks the required column(s) listelengde",
    ),
    "header names a column twice": (
        csv_bytes(GOOD, HEADER.replace("adresse", "poststed")),
        "names the column(s) poststed more than once",
    ),
}


@pytest.mark.parametrize("data, text", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_file_that_cannot_be_read_is_refused_whole(oslo, bergen, data, text):
    with pytest.raises(GPRegisterFileError) as refused:
        import_gp_register(data)
    assert text in refused.value.message
    assert not HealthPersonnel.objects.exists()
    assert not GPOffice.objects.exists()


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(GPRegisterFileError, match="Could not read"):
        import_gp_register(tmp_path / "finnes-ikke.csv")


def test_the_encoding_message_names_the_line(oslo):
    data = csv_bytes([row(1), row(2)], encoding="cp1252")
    with pytest.raises(GPRegisterFileError, match="line 3"):
        import_gp_register(data)


# Bulk: the number of queries does not grow with the file ---------------------------------------


def _many(count, *, offices=20):
    return [
        row(
            0,
            hpr_nummer=str(3_000_000 + n),
            lege_navn=f"Lege {n}",
            legekontor=f"Kontor {n % offices}",
            legekontor_orgnr=factories.valid_org_number(8000 + n % offices),
            listelengde=str(800 + n),
        )
        for n in range(count)
    ]


def test_queries_are_in_bulk(oslo, django_assert_max_num_queries):
    rows = _many(1000)
    with django_assert_max_num_queries(60):
        assert import_gp_register(csv_bytes(rows)).created == 1000
    with django_assert_max_num_queries(20):
        assert import_gp_register(csv_bytes(rows)).unchanged == 1000
    for changed in rows[::10]:
        changed["listelengde"] = "1"
    # One UPDATE per changed GP; its history rows are written in bulk.
    with django_assert_max_num_queries(100 + 20):
        assert import_gp_register(csv_bytes(rows)).updated == 100


def test_progress_counts_every_line_checked_and_written(imported):
    class Bar:
        def __init__(self, total):
            self.total, self.done = total, 0

        def update(self, n):
            self.done += n

    bars = []

    def progress(total):
        bars.append(Bar(total))
        return bars[-1]

    rows = [
        row(0, listelengde="1"),
        row(1, hpr_nummer="12ab"),
        row(2),
        row(0, hpr_nummer="1000004"),
    ]
    import_gp_register(csv_bytes(rows), progress=progress)
    (bar,) = bars
    assert bar.total == bar.done == 8


# The command -----------------------------------------------------------------------------------


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_gp_register", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_the_summary_and_each_rejected_line(oslo, bergen, importer, tmp_path):
    path = tmp_path / "fastleger.csv"
    path.write_bytes(csv_bytes([GOOD[0], row(1, hpr_nummer="12ab"), GOOD[2]], HEADER + ";ekstra"))
    out, err = run(str(path), "--as", "importor")
    assert "GPs: 2 created, 0 updated, 0 unchanged, 1 rejected." in out
    assert "GP offices: 2 created, 0 updated." in out
    assert "Columns ignored: ekstra." in out
    assert "line 3: invalid HPR number «12ab» (seven to nine digits)" in out
    assert HealthPersonnel.objects.get(hpr_number="1000001").history.get().history_user == importer

    out, _err = run(str(path), "--as", "importor")
    assert "GPs: 0 created, 0 updated, 2 unchanged, 1 rejected." in out


def test_the_command_fails_only_when_the_file_cannot_be_read(db, tmp_path):
    path = tmp_path / "fastleger.csv"
    path.write_bytes(csv_bytes(GOOD).replace(b";", b","))
    with pytest.raises(CommandError, match="separated by commas") as failed:
        run(str(path))
    assert failed.value.returncode == 1
    assert str(path) in str(failed.value)


def test_the_command_exits_one_on_an_unreadable_file(tmp_path, capsys):
    from municipalities.management.commands.import_gp_register import Command

    path = tmp_path / "fastleger.csv"
    path.write_bytes(csv_bytes(GOOD, encoding="cp1252"))
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "import_gp_register", str(path)])
    assert exited.value.code == 1
    assert "not UTF-8" in capsys.readouterr().err


def test_the_command_refuses_an_unknown_user(db, tmp_path):
    path = tmp_path / "fastleger.csv"
    path.write_bytes(csv_bytes([]))
    with pytest.raises(CommandError, match="No user named nobody"):
        run(str(path), "--as", "nobody")
