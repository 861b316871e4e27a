"""The security officer's access log: search and CSV export at /tilgangslogg/.

The world (tests/conftest.py): Statsforvalteren i Vestland (``authority``, "A") oversees the
``order`` in Bergen; Statsforvalteren i Trøndelag (``other_authority``, "B") oversees
Trondheim. ``officer`` is A's security officer, ``other_officer`` B's, ``national_officer``
Statens helsetilsyn's. Events are written with audit.record (the real writer, hash chain and
all) or by visiting the real pages; access events are never deleted, so "new" events are
those after the highest sequence before the action.
"""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

import audit
from audit.models import AccessEvent, Role
from municipalities import appointments
from municipalities.models import ACT_FOR_AUTHORITY, ADMINISTER_AUTHORITY, Appointment
from tests import bulk, factories
from web.audit_views import CappedPaginator

OSLO = ZoneInfo("Europe/Oslo")
SEARCH, EXPORT = "/tilgangslogg/", "/tilgangslogg/eksport.csv"


# --- fixtures and helpers ---------------------------------------------------------------


def security_officer_for(authority, username, **names):
    user = factories.UserFactory(username=username, **names)
    appointments.appoint(
        acting_user=None,
        user=user,
        role=Appointment.Role.SECURITY_OFFICER,
        organisation=authority,
        reason="Sikkerhetsansvarlig.",
        system=True,
    )
    return user


@pytest.fixture
def officer(world):
    return security_officer_for(
        world.authority, "sikkerhet.a", first_name="Sara", last_name="Sikker"
    )


@pytest.fixture
def other_officer(world):
    return security_officer_for(world.other_authority, "sikkerhet.b")


@pytest.fixture
def national(db):
    return factories.helsetilsynet()


@pytest.fixture
def national_officer(national):
    return security_officer_for(national, "sikkerhet.htil")


@pytest.fixture
def english(client):
    """Read the page and the CSV header in English (the source strings), whatever the lead
    translates later."""
    client.cookies["django_language"] = "en"
    return client


def last_sequence() -> int:
    return AccessEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def new_events(since, **filters):
    return list(AccessEvent.objects.filter(sequence__gt=since, **filters).order_by("sequence"))


def record(
    user=None,
    *,
    authority=None,
    action=audit.Action.VIEW_CASE,
    order=None,
    at=None,
    role=Role.CASEWORKER,
    organisation=None,
    detail="",
):
    """One access event overseen by ``authority`` (None: by no authority), at ``at``."""
    if organisation is None:
        organisation = authority.name if authority else ""
    fields = {
        "user": user,
        "action": action,
        "target": order if order is not None else "page:1",
        "case": order,
        "capacity": audit.Capacity(role, organisation, authority.pk if authority else None),
        "detail": detail,
    }
    if at is None:
        return audit.record(**fields)
    with time_machine.travel(at, tick=False):
        return audit.record(**fields)


def listed(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    page = response.context["page"]
    assert page is not None, response.context["form"].errors
    return [event.sequence for event in page.object_list]


def listed_all(client, params=None) -> list[int]:
    """Every event the search finds, over all pages."""
    response = client.get(SEARCH, params or {})
    page = response.context["page"]
    found = []
    for number in page.paginator.page_range:
        found += listed(client.get(SEARCH, {**(params or {}), "side": number}))
    return found


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


# --- who sees what -------------------------------------------------------------------------


def test_officer_sees_own_authoritys_events_and_not_another_authoritys(
    world, order, officer, client_for
):
    other_personnel = factories.HealthPersonnelFactory(municipality=world.other_municipality)
    other_order = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=other_personnel,
    )
    before = last_sequence()
    client_for(world.caseworker).get(f"/saker/{order.pk}/")
    client_for(world.other_caseworker).get(f"/saker/{other_order.pk}/")
    ours = new_events(before, authority_id=world.authority.pk, action="view_case")
    theirs = new_events(before, authority_id=world.other_authority.pk, action="view_case")
    unassigned = record(world.caseworker, authority=None)
    assert len(ours) == 1 and len(theirs) == 1

    response = client_for(officer).get(SEARCH)

    shown = listed(response)
    assert ours[0].sequence in shown
    assert theirs[0].sequence not in shown
    assert unassigned.sequence not in shown
    assert set(
        AccessEvent.objects.filter(sequence__in=shown).values_list("authority_id", flat=True)
    ) == {world.authority.pk}
    assert order.case_number in response.content.decode()


def test_other_authoritys_officer_sees_none_of_its_events(
    world, order, officer, other_officer, client_for
):
    mine = record(world.caseworker, authority=world.authority, order=order)
    theirs = record(world.other_caseworker, authority=world.other_authority)

    shown = listed_all(client_for(other_officer))

    assert theirs.sequence in shown
    assert mine.sequence not in shown
    # Nor by asking for the case directly.
    assert listed(client_for(other_officer).get(SEARCH, {"case": order.case_number})) == []
    assert listed(client_for(other_officer).get(SEARCH, {"case": str(order.pk)})) == []


def test_helsetilsynet_officer_also_sees_events_that_belong_to_no_authority(
    world, national, national_officer, officer, client_for
):
    unassigned = record(world.gp_user, authority=None, role=Role.PERSONNEL)
    national_event = record(world.caseworker, authority=national)
    statsforvalter_event = record(world.caseworker, authority=world.authority)

    national_view = listed_all(client_for(national_officer))
    statsforvalter_view = listed_all(client_for(officer))

    assert unassigned.sequence in national_view and national_event.sequence in national_view
    assert statsforvalter_event.sequence not in national_view
    assert unassigned.sequence not in statsforvalter_view
    assert national_event.sequence not in statsforvalter_view


@pytest.fixture
def administrator(world):
    return factories.administrator_for(world.authority, username="admin.a")


@pytest.mark.parametrize("url", [SEARCH, EXPORT])
@pytest.mark.parametrize(
    "who", ["caseworker", "leader", "gp_user", "other_caseworker", "administrator"]
)
def test_anyone_but_a_security_officer_gets_404_and_the_refusal_is_logged(
    world, order, officer, administrator, client_for, who, url
):
    user = administrator if who == "administrator" else getattr(world, who)
    record(world.caseworker, authority=world.authority, order=order)
    client = client_for(user)  # logging in is an event of its own
    before = last_sequence()

    response = client.get(url)

    assert response.status_code == 404
    refused = new_events(before)
    kind = "search" if url == SEARCH else "export"
    assert [(e.user_id, e.action, e.outcome, e.target_type, e.target_id) for e in refused] == [
        (user.pk, f"{kind}_audit", "refused", "access_log", kind)
    ]


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(SEARCH)
    assert response.status_code == 302 and "/logg-inn/" in response["Location"]


def test_the_menu_shows_the_access_log_to_security_officers_only(
    world, officer, administrator, client_for
):
    def menu(user):
        html = client_for(user).get("/oppgaver/").content.decode()
        return 'href="/tilgangslogg/"' in html, f'href="/myndigheter/{world.authority.pk}/"' in html

    assert menu(officer) == (True, False)
    assert menu(administrator) == (False, True)
    assert menu(world.caseworker) == (False, False)
    assign_perm(ADMINISTER_AUTHORITY, officer, world.authority)
    assert menu(officer) == (True, True)


def test_appointing_a_security_officer_on_the_appointment_page_gives_access_at_once(
    world, client_for
):
    admin = factories.UserFactory(username="admin")
    appointments.appoint(
        acting_user=None,
        user=admin,
        role=Appointment.Role.ADMINISTRATOR,
        organisation=world.authority,
        reason="Første administrator.",
        system=True,
    )
    newcomer = factories.UserFactory(username="siri.sikker")
    assert client_for(newcomer).get(SEARCH).status_code == 404
    event = record(world.caseworker, authority=world.authority)

    response = client_for(admin).post(
        f"/myndigheter/{world.authority.pk}/utnevn/",
        {
            "role": "security_officer",
            "username": "siri.sikker",
            "reason": "Ny sikkerhetsansvarlig.",
        },
    )
    assert response.status_code == 302

    assert event.sequence in listed(client_for(newcomer).get(SEARCH))
    assert client_for(newcomer).get(EXPORT).status_code == 200

    # And ending the appointment takes it away at once.
    appointment = Appointment.objects.get(user=newcomer, ended_at__isnull=True)
    response = client_for(admin).post(
        f"/utnevnelser/{appointment.pk}/avslutt/", {"reason": "Sluttet."}
    )
    assert response.status_code == 302
    assert client_for(newcomer).get(SEARCH).status_code == 404


# --- the filters ---------------------------------------------------------------------------


@pytest.fixture
def people(world):
    kari = factories.caseworker_for(
        world.authority, username="kari.k", first_name="Kari", last_name="Nordmann"
    )
    ola = factories.caseworker_for(
        world.authority, username="ola.h", first_name="Ola", last_name="Hansen"
    )
    return kari, ola


def test_the_user_filter_matches_part_of_the_username_or_the_name(
    world, people, officer, client_for
):
    kari, ola = people
    karis = [record(kari, authority=world.authority).sequence for _ in range(2)]
    olas = [record(ola, authority=world.authority).sequence]
    client = client_for(officer)

    for term in ("kari.k", "NORDMANN", "Kari Nordmann", "ari Nor"):
        assert sorted(listed(client.get(SEARCH, {"user": term}))) == karis, term
    assert listed(client.get(SEARCH, {"user": "Hansen"})) == olas
    assert listed(client.get(SEARCH, {"user": "nobody-by-this-name"})) == []


def test_the_case_filter_takes_a_case_number_or_a_case_id(world, order, officer, client_for):
    second = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1235
    )
    # Another authority may use the same case number: it is not in A's scope anyway.
    other_personnel = factories.HealthPersonnelFactory(municipality=world.other_municipality)
    namesake = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=other_personnel,
        number=1234,
    )
    on_order = [
        record(world.caseworker, authority=world.authority, order=order).sequence for _ in range(2)
    ]
    record(world.caseworker, authority=world.authority, order=second)
    record(world.other_caseworker, authority=world.other_authority, order=namesake)
    client = client_for(officer)

    assert sorted(listed(client.get(SEARCH, {"case": "2026/1234"}))) == on_order
    assert sorted(listed(client.get(SEARCH, {"case": str(order.pk)}))) == on_order
    assert sorted(listed(client.get(SEARCH, {"case": f"00{order.pk}"}))) == on_order
    assert sorted(listed(client.get(SEARCH, {"case": " 2026/1234 "}))) == on_order
    assert listed(client.get(SEARCH, {"case": "2026/99999"})) == []


def at(*args):
    return datetime(*args, tzinfo=OSLO)


def test_the_period_includes_both_days_whole_in_norwegian_time(world, officer, client_for):
    def event(when):
        return record(world.caseworker, authority=world.authority, at=when).sequence

    before = event(at(2026, 3, 1, 23, 59, 59, 999999))
    first = event(at(2026, 3, 2, 0, 0))
    last = event(at(2026, 3, 3, 23, 59, 59, 999999))
    after = event(at(2026, 3, 4, 0, 0))
    # The night the clocks go forward: 00:30 in Oslo is still 28 March in UTC.
    dst_night = event(at(2026, 3, 29, 0, 30))
    client = client_for(officer)

    found = listed(client.get(SEARCH, {"date_from": "2026-03-02", "date_to": "2026-03-03"}))
    assert sorted(found) == [first, last]
    assert listed(client.get(SEARCH, {"date_from": "2026-03-02", "date_to": "2026-03-02"})) == [
        first
    ]
    assert listed(client.get(SEARCH, {"date_to": "2026-03-01"})) == [before]
    from_fourth = listed(client.get(SEARCH, {"date_from": "2026-03-04", "date_to": "2026-03-31"}))
    assert sorted(from_fourth) == [after, dst_night]
    assert listed(client.get(SEARCH, {"date_from": "2026-03-29", "date_to": "2026-03-29"})) == [
        dst_night
    ]
    # The Norwegian way of writing a date works too.
    assert listed(client.get(SEARCH, {"date_from": "29.03.2026", "date_to": "29.03.2026"})) == [
        dst_night
    ]


def test_the_action_filter_offers_the_whole_vocabulary_and_narrows_to_one(
    world, order, officer, client_for
):
    record(world.caseworker, authority=world.authority, order=order, action=audit.Action.VIEW_CASE)
    download = record(
        world.caseworker,
        authority=world.authority,
        order=order,
        action=audit.Action.DOWNLOAD_DOCUMENT,
    )
    record(
        world.other_caseworker, authority=world.other_authority, action=audit.Action.VIEW_MEASURE
    )
    client = client_for(officer)

    response = client.get(SEARCH)
    offered = [value for value, _label in response.context["form"].fields["action"].choices]
    # Every action the log knows, whether or not it occurs: the list gives nothing away.
    assert offered == ["", *audit.Action.values]
    assert listed(client.get(SEARCH, {"action": "download_document"})) == [download.sequence]
    assert listed(client.get(SEARCH, {"action": "view_measure"})) == []  # only in B's events


def test_filters_combine_and_results_are_newest_first(world, people, order, officer, client_for):
    kari, ola = people
    expected = []
    for day in (5, 6, 7):
        expected.append(
            record(kari, authority=world.authority, order=order, at=at(2026, 4, day, 12)).sequence
        )
        record(ola, authority=world.authority, order=order, at=at(2026, 4, day, 12))
        record(
            kari,
            authority=world.authority,
            action=audit.Action.SEARCH_CASES,
            at=at(2026, 4, day, 12),
        )
    record(kari, authority=world.authority, order=order, at=at(2026, 4, 8, 12))

    found = listed(
        client_for(officer).get(
            SEARCH,
            {
                "user": "kari",
                "case": order.case_number,
                "date_from": "2026-04-05",
                "date_to": "2026-04-07",
                "action": "view_case",
            },
        )
    )
    assert found == sorted(expected, reverse=True)


def test_results_are_paginated_and_keep_the_filters(world, officer, client_for, settings):
    settings.PAGE_SIZE = 3
    made = [record(world.caseworker, authority=world.authority).sequence for _ in range(7)]
    client = client_for(officer)

    response = client.get(SEARCH, {"action": "view_case"})
    assert response.context["page"].paginator.num_pages == 3
    assert "action=view_case&amp;side=2" in response.content.decode()
    assert listed_all(client, {"action": "view_case"}) == sorted(made, reverse=True)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_from": "banana"}, "date_from"),
        ({"date_to": "31.13.2026"}, "date_to"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"date_from": "2026-03-05", "date_to": "2026-03-04"}, "date_to"),
        ({"case": "abc"}, "case"),
        ({"case": "2026/"}, "case"),
        ({"case": "2026/12/3"}, "case"),
        ({"case": "1" * 40}, "case"),
        ({"case": "-5"}, "case"),
        ({"action": "drop_table"}, "action"),
        ({"user": "x" * 151}, "user"),
    ],
)
@pytest.mark.parametrize("url", [SEARCH, EXPORT])
def test_bad_input_is_a_form_error_not_a_500_and_shows_nothing(
    world, officer, english, client_for, params, field, url
):
    record(world.caseworker, authority=world.authority)
    client = client_for(officer)  # logging in is an event of its own
    before = last_sequence()

    response = client.get(url, params)

    assert response.status_code == 200
    assert response.context["page"] is None
    assert field in response.context["form"].errors
    assert "Please correct the following" in response.content.decode()
    assert new_events(before) == []  # nothing was shown, so no search is logged


def test_the_period_error_says_what_is_wrong(world, officer, english, client_for):
    response = client_for(officer).get(SEARCH, {"date_from": "2026-03-05", "date_to": "2026-03-04"})
    assert "The period ends before it starts." in response.content.decode()


# --- the search is itself logged -------------------------------------------------------------


def test_each_search_is_logged_with_its_filters_in_the_officers_capacity(
    world, order, officer, client_for
):
    # Also a caseworker elsewhere: the search is still logged as security officer of A.
    assign_perm(ACT_FOR_AUTHORITY, officer, world.other_authority)
    record(world.caseworker, authority=world.authority, order=order)
    client = client_for(officer)  # logging in is an event of its own
    before = last_sequence()

    response = client.get(
        SEARCH,
        {
            "user": "saksbehandler",
            "case": "2026/1234",
            "date_from": "2026-01-01",
            "action": "view_case",
        },
    )

    assert response.status_code == 200, response.status_code
    found = response.context["page"].paginator.count
    [event] = new_events(before)
    assert (event.user_id, event.action, event.outcome) == (officer.pk, "search_audit", "shown")
    assert (event.role, event.authority_id) == (Role.SECURITY_OFFICER, world.authority.pk)
    assert event.organisation == world.authority.name
    assert (event.target_type, event.target_id) == ("search", str(found))
    assert (
        event.detail == "user=saksbehandler; case=2026/1234; date_from=2026-01-01; action=view_case"
    )
    # The officer's colleagues see it in the log in turn.
    assert event.sequence in listed(client_for(officer).get(SEARCH, {"action": "search_audit"}))


def test_opening_the_page_without_filters_is_logged_too(world, officer, client_for):
    client = client_for(officer)  # logging in is an event of its own
    before = last_sequence()
    client.get(SEARCH)
    [event] = new_events(before)
    assert (event.action, event.detail) == ("search_audit", "(no filters)")


# --- CSV export ----------------------------------------------------------------------------


def test_the_export_has_a_header_and_exactly_the_matching_rows(
    world, order, people, officer, english, client_for
):
    kari, _ola = people
    matching = [
        record(kari, authority=world.authority, order=order, at=at(2026, 5, day, 9)).sequence
        for day in (1, 2, 3)
    ]
    record(kari, authority=world.authority, order=order, at=at(2026, 5, 4, 9))  # outside
    record(kari, authority=world.authority, action=audit.Action.SEARCH_CASES, at=at(2026, 5, 2, 9))
    record(kari, authority=world.other_authority, order=order, at=at(2026, 5, 2, 9))

    response = client_for(officer).get(
        EXPORT,
        {"user": "kari", "date_from": "2026-05-01", "date_to": "2026-05-03", "action": "view_case"},
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="tilgangslogg-')
    header, *rows = csv_rows(response)
    assert header[0] == "Sequence" and header[-2:] == ["Previous hash", "Hash"]
    assert "Case number" in header and "IP address" in header
    assert [int(row[0]) for row in rows] == sorted(matching, reverse=True)
    column = dict(zip(header, rows[-1], strict=True))
    first = AccessEvent.objects.get(sequence=matching[0])
    assert column["Hash"] == first.hash and column["Previous hash"] == first.previous_hash
    assert column["User name"] == "kari.k" and column["Name"] == "Kari Nordmann"
    assert column["Case number"] == "2026/1234" and column["Case id"] == str(order.pk)
    assert column["Time"] == "2026-05-01T09:00:00+02:00"
    assert column["Organisation"] == world.authority.name  # æøå survive the round trip


def test_the_export_neutralises_spreadsheet_formulas(world, officer, client_for):
    dangerous = ['=HYPERLINK("http://evil.invalid")', "+47 12345678", "-2+3", "@SUM(A1:A9)"]
    for text in dangerous:
        record(world.caseworker, authority=world.authority, organisation=text, detail=f"{text};x")

    _header, *rows = csv_rows(client_for(officer).get(EXPORT, {"action": "view_case"}))

    cells = [cell for row in rows for cell in row]
    for text in dangerous:
        assert "'" + text in cells and "'" + text + ";x" in cells
        assert text not in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_export_is_logged_once_with_the_row_count_before_anything_is_sent(
    world, order, officer, client_for
):
    for _ in range(3):
        record(world.caseworker, authority=world.authority, order=order)
    client = client_for(officer)  # logging in is an event of its own
    before = last_sequence()

    response = client.get(EXPORT, {"case": order.case_number})

    # Written when the response starts, before a single row has been read.
    [event] = new_events(before)
    assert (event.action, event.outcome, event.role) == (
        "export_audit",
        "shown",
        Role.SECURITY_OFFICER,
    )
    _header, *rows = csv_rows(response)
    assert len(rows) == 3
    assert (event.target_type, event.target_id) == ("export", "3")
    assert event.detail == f"case={order.case_number} → 3 rows"
    assert new_events(before) == [event]
    # Exporting everything: the count is what was sent, the export's own event not among it.
    client = client_for(officer)  # logging in is an event of its own
    before = last_sequence()
    response = client.get(EXPORT)
    [event] = new_events(before)
    _header, *rows = csv_rows(response)
    assert event.target_id == str(len(rows))
    assert str(event.sequence) not in [row[0] for row in rows]


# --- query counts ----------------------------------------------------------------------------


def _spread(world, order, people, count):
    """``count`` events by different people, on a case and not, with and without IP."""
    kari, ola = people
    for i in range(count):
        record(
            (kari, ola, world.caseworker)[i % 3],
            authority=world.authority,
            order=order if i % 2 else None,
        )


def test_the_search_page_runs_a_fixed_number_of_queries(
    world, order, people, officer, client_for, django_assert_max_num_queries
):
    _spread(world, order, people, 5)
    client = client_for(officer)
    client.get(SEARCH, {"action": "view_case"})  # warm up: session, language
    with CaptureQueriesContext(connection) as small:
        response = client.get(SEARCH, {"action": "view_case"})
    assert response.context["page"].paginator.count == 5

    _spread(world, order, people, 95)

    with django_assert_max_num_queries(len(small)):
        response = client.get(SEARCH, {"action": "view_case"})
    assert response.context["page"].paginator.count == 100
    with django_assert_max_num_queries(len(small)):
        response = client.get(SEARCH, {"action": "view_case", "side": 4})
    assert response.context["page"].number == 4


# --- a count that stops --------------------------------------------------------------------


@pytest.fixture
def cap(monkeypatch):
    """A cap of 30 instead of 10,000, so that going past it takes a few hundred events."""
    monkeypatch.setattr(CappedPaginator, "CAP", 30)
    return 30


def test_past_the_cap_the_page_says_more_than_and_pages_through_the_newest(
    world, order, officer, english, client_for, settings, cap
):
    settings.PAGE_SIZE = 10
    written = record(world.caseworker, authority=world.authority, order=order)
    newest = bulk.more_events_like([written], cap + 15)[-1]
    client = client_for(officer)
    before = last_sequence()

    response = client.get(SEARCH, {"action": "view_case"})

    page = response.context["page"]
    assert page.paginator.more_than_cap
    assert page.paginator.num_pages == 3  # the newest 30, 10 a page
    assert listed(response)[0] == newest.sequence
    html = response.content.decode()
    assert "More than 30 events, newest first" in html
    assert "Only the newest 30 can be paged through here" in html
    assert "Download all matching events as CSV" in html
    assert "Page 1 of 3" in html
    # The search is logged as finding more than the cap, not a number it never counted.
    [event] = new_events(before)
    assert (event.action, event.target_type, event.target_id) == ("search_audit", "search", ">30")
    # The last page is the 30th newest; older ones are found by narrowing the search.
    assert len(listed(client.get(SEARCH, {"action": "view_case", "side": 3}))) == 10


def test_at_the_cap_the_count_is_exact(world, order, officer, english, client_for, cap):
    written = record(world.caseworker, authority=world.authority, order=order)
    bulk.more_events_like([written], cap - 1)

    response = client_for(officer).get(SEARCH, {"action": "view_case"})

    assert response.context["page"].paginator.count == cap
    assert not response.context["page"].paginator.more_than_cap
    html = response.content.decode()
    assert "30 events, newest first" in html
    assert "More than" not in html


def test_past_the_cap_the_export_still_sends_every_match(world, order, officer, client_for, cap):
    written = record(world.caseworker, authority=world.authority, order=order)
    copies = bulk.more_events_like([written], cap + 15)

    rows = csv_rows(client_for(officer).get(EXPORT, {"action": "view_case"}))

    sequences = [int(row[0]) for row in rows[1:]]
    assert sequences == sorted([written.sequence, *(c.sequence for c in copies)], reverse=True)


def test_past_the_cap_the_page_says_so_in_norwegian(world, order, officer, client_for, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "CAP", 1000)
    written = record(world.caseworker, authority=world.authority, order=order)
    bulk.more_events_like([written], 1000)

    html = client_for(officer).get(SEARCH).content.decode()

    # Digits grouped the Norwegian way, with a no-break space.
    assert "Mer enn 1\xa0000 hendelser, nyeste først" in html
    assert "Bare de nyeste 1\xa0000 kan blas gjennom her" in html
    assert "Last ned alle hendelser som passer til søket (CSV)" in html


# --- demo --------------------------------------------------------------------------------


def test_the_demo_security_officer_can_search_the_statsforvalters_log(db, client):
    from django.core.management import call_command

    from web.management.commands.load_demo import DEMO_PASSWORD

    out = io.StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=out)  # a re-run adds no second officer
    assert "sikkerhet.sfoa" in out.getvalue()
    [appointment] = Appointment.objects.filter(
        user__username="sikkerhet.sfoa", role=Appointment.Role.SECURITY_OFFICER
    )
    assert appointment.appointed_by.username == "admin.sfoa"

    assert client.login(username="saksbehandler.sfoa", password=DEMO_PASSWORD)
    assert client.get(SEARCH).status_code == 404
    assert client.login(username="sikkerhet.sfoa", password=DEMO_PASSWORD)
    response = client.get(SEARCH)
    assert response.status_code == 200
    assert set(response.context["scope"].authority_ids) == {appointment.authority_id}
    # The caseworker's refused look is in the statsforvalter's log.
    assert "search_audit" in [e.action for e in response.context["page"].object_list]
