"""Raw input from the address bar and from forms: a NUL byte or another control character in a
path or query parameter is a 404 or a message in the form, never a 500 (PostgreSQL refuses a
NUL in a string); and a refused probe of someone else's notice or meeting is logged."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from audit.models import AccessEvent
from orders import services
from orders.models import Notification
from tests.orders.test_measure_pages import attendance_data, measure_url, plan
from tests.web.test_audit_search import security_officer_for

CONTROL_MESSAGE = "The text contains characters that cannot be used, such as control characters."


def nb(msgid):
    with translation.override("nb"):
        return translation.gettext(msgid)


@pytest.mark.parametrize(
    "url",
    [
        "/kommuner/%00/",
        "/kommuner/%00/ledere/",
        "/kommuner/%00/ledere/utnevn/",
        "/kommuner/46%0001/",
        "/kommuner/46011/",
        "/kommuner/abcd/ledere/",
        "/saker/%00/",
        "/saker/1%00/tiltak/1/",
    ],
)
def test_a_path_parameter_of_the_wrong_shape_is_not_found(client_for, world, url):
    for user in (world.caseworker, world.leader):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).post(url, {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("term", ["\x00", "a\x00b", "46\x1b01", "Berg\x7fen"])
def test_a_control_character_in_the_municipality_search_is_a_form_error(client_for, world, term):
    response = client_for(world.caseworker).get("/kommuner/", {"q": term})
    assert response.status_code == 200
    assert nb(CONTROL_MESSAGE) in response.content.decode()
    # The search is dropped, not half-applied: the list is there unfiltered.
    assert world.municipality in response.context["page"].object_list


def test_the_municipality_search_still_finds_by_number_and_name(client_for, world):
    client = client_for(world.caseworker)
    assert list(client.get("/kommuner/", {"q": "4601"}).context["page"].object_list) == [
        world.municipality
    ]
    assert list(client.get("/kommuner/?q=%00").context["page"].object_list) == [world.municipality]
    too_long = client.get("/kommuner/", {"q": "B" * 101})
    assert too_long.status_code == 200 and too_long.context["form"].errors


@pytest.mark.parametrize("term", ["a\x00b", "\x00", "90\x0000", "9000\t001"])
def test_a_control_character_in_the_personnel_lookup_is_an_error_not_a_500(client_for, world, term):
    response = client_for(world.caseworker).get("/oppslag/helsepersonell/", {"q": term})
    assert response.status_code == 200
    assert response.json() == {"results": [], "errors": [nb(CONTROL_MESSAGE)]}
    # Nothing was searched, so nothing was logged as a search.
    assert not AccessEvent.objects.filter(action="search_personnel").exists()


def test_the_case_search_with_a_control_character_is_a_form_error(client_for, world, order):
    client = client_for(world.caseworker)
    response = client.get("/saker/?q=12%0034")
    assert response.status_code == 200
    assert nb(CONTROL_MESSAGE) in response.content.decode()
    assert order in response.context["page"].object_list
    assert not AccessEvent.objects.filter(action="search_cases").exists()


@pytest.mark.parametrize(
    "query",
    ["side=%00", "side=-1", "side=1e9", "side=" + "9" * 5000, "vis=%00&tidslinje=%00", "vis=x"],
)
def test_page_numbers_and_timeline_kinds_are_parsed_safely(client_for, world, order, query):
    client = client_for(world.caseworker)
    for url in ("/saker/", "/oppgaver/", "/varsler/", "/kommuner/", f"/saker/{order.pk}/"):
        assert client.get(f"{url}?{query}").status_code == 200, url


def test_a_control_character_in_the_access_log_search_is_a_form_error(client, world):
    client.force_login(security_officer_for(world.authority, "sikkerhet"))
    for params in ({"user": "a\x00b"}, {"case": "2026/\x001"}, {"user": "x\x1by"}):
        response = client.get("/tilgangslogg/", params)
        assert response.status_code == 200
        assert nb(CONTROL_MESSAGE) in response.content.decode()
        assert response.context["page"] is None
    response = client.get("/tilgangslogg/eksport.csv", {"user": "\x00"})
    assert response.status_code == 200
    assert nb(CONTROL_MESSAGE) in response.content.decode()


def test_a_nul_in_a_posted_form_field_is_a_form_error(client_for, world, order):
    response = client_for(world.caseworker).post(
        f"/saker/{order.pk}/trekk-tilbake/", {"reason": "Omgjort\x00 etter klage."}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    order.refresh_from_db()
    assert order.withdrawal_reason == ""


# --------------------------------------------------------------------------- logged refusals


def test_someone_elses_notice_is_not_found_and_the_probe_is_logged(client_for, world, order):
    notice = Notification.objects.filter(recipient=world.leader).first()
    assert notice is not None
    response = client_for(world.other_leader).get(f"/varsler/{notice.pk}/")
    assert response.status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
    event = AccessEvent.objects.get(user=world.other_leader, outcome="refused")
    assert (event.action, event.target_type, event.target_id) == (
        "open_notification",
        "notification",
        str(notice.pk),
    )
    # On the notice's case, under its issuing authority, for that security officer to see.
    assert (event.case_id, event.authority_id) == (str(order.pk), world.authority.pk)
    # A notice that does not exist gets the same answer, and is logged too.
    assert client_for(world.other_leader).get("/varsler/999999/").status_code == 404
    assert AccessEvent.objects.filter(
        user=world.other_leader, outcome="refused", target_id="999999"
    ).exists()


def test_a_meeting_of_another_measure_is_refused_and_logged(client_for, world, order):
    today = timezone.localdate()
    course, _supervision, online = plan(order, world.leader, world.supervisor)
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=today - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[today - timedelta(days=d) for d in (20, 10, 1)],
    )
    meeting = course.meetings.get(number=1)
    url = measure_url(online, f"moter/{meeting.pk}/")
    response = client_for(world.leader).post(url, attendance_data(meeting))
    assert response.status_code == 404
    meeting.refresh_from_db()
    assert meeting.attendance == "unknown"
    event = AccessEvent.objects.get(user=world.leader, outcome="refused")
    assert (event.action, event.target_type, event.target_id, event.case_id) == (
        "measure_attendance",
        "meeting",
        str(meeting.pk),
        str(order.pk),
    )
    # Meeting 0 is no meeting either (it used to fall through to "no meeting given").
    assert client_for(world.leader).post(measure_url(online, "moter/0/")).status_code == 404


@pytest.mark.parametrize("cookie", ["\x00" * 10, "a" * 31 + "\x00", "ABCDEFGHIJ", "x" * 500])
def test_a_session_cookie_that_is_no_session_key_is_no_session(client, world, cookie):
    client.cookies["sessionid"] = cookie
    response = client.get("/oppgaver/")
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/")
    assert client.get("/finnes-ikke/").status_code == 404


def test_a_real_session_still_works(client_for, world):
    response = client_for(world.caseworker).get("/oppgaver/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/kurs/?provider=%00&format=%00&hide_inactive=%00",
        "/saker/?state=%00&due=%00",
        "/oppgaver/?due=%00",
        "/logg-inn/?next=%00",
    ],
)
def test_a_nul_in_a_choice_filter_is_ignored_not_a_500(client_for, world, url):
    assert client_for(world.caseworker).get(url).status_code in (200, 302)
