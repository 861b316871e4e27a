"""The same thing sent twice, one after the other: a double click, a reload of a POST, a
colleague who was first (issue 10, point 6). It is recorded once, and the second sender is
told what happened — never a 403, 404 or 500 for having been second."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from courses.models import CourseMeeting, EvidenceDocument, SupervisionSession
from orders import services
from orders.models import Appeal, Order
from tests.orders.http_flow import PDF_BYTES, Driver, issue_data
from tests.orders.test_measure_pages import (
    attendance_data,
    measure_url,
    messages_of,
    nb,
    plan,
    session_data,
)

TODAY = timezone.localdate
ALREADY_RECORDED = "This was already recorded; it has not been recorded twice."


@pytest.fixture
def drive(client_for, world):
    return Driver(client_for, world)


@pytest.fixture
def measures(world, order):
    measures = plan(order, world.leader, world.supervisor)
    world.supervisor.refresh_from_db()
    return measures


def key_in(page, prefix):
    """The one-time key of the ``prefix`` form, as the browser would send it back."""
    html = page.content.decode()
    match = re.search(rf'name="{prefix}-submission_key" value="([0-9a-f-]+)"', html)
    assert match, f"no {prefix} key on the page"
    return match.group(1)


# ----------------------------------------------------------------------------- measures


def test_the_same_session_form_sent_twice_records_one_session(client_for, world, measures):
    supervision = measures[1]
    supervisor = client_for(world.supervisor.user)
    data = {
        **session_data(),
        "session-submission_key": key_in(supervisor.get(measure_url(supervision)), "session"),
    }

    first = supervisor.post(measure_url(supervision, "timer/"), data)
    second = supervisor.post(measure_url(supervision, "timer/"), data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == measure_url(supervision)
    assert messages_of(second)[-1] == nb(ALREADY_RECORDED)
    assert SupervisionSession.objects.filter(measure=supervision).count() == 1
    page = supervisor.get(measure_url(supervision))
    assert page.context["measure"].progress_done == 1


def test_a_new_session_form_records_a_new_session(client_for, world, measures):
    supervision = measures[1]
    supervisor = client_for(world.supervisor.user)
    for topic in ("Første time", "Andre time"):
        key = key_in(supervisor.get(measure_url(supervision)), "session")
        data = {**session_data(topic=topic), "session-submission_key": key}
        assert supervisor.post(measure_url(supervision, "timer/"), data).status_code == 302
    assert SupervisionSession.objects.filter(measure=supervision).count() == 2


def test_the_same_upload_sent_twice_stores_one_document(client_for, world, measures):
    course = measures[0]
    leader = client_for(world.leader)
    key = key_in(leader.get(measure_url(course)), "document")

    responses = [
        leader.post(
            measure_url(course, "dokumenter/"),
            {
                "document-kind": "certificate",
                "document-file": SimpleUploadedFile("bevis.pdf", PDF_BYTES),
                "document-submission_key": key,
            },
        )
        for _ in range(2)
    ]

    assert [r.status_code for r in responses] == [302, 302]
    assert messages_of(responses[1])[-1] == nb(ALREADY_RECORDED)
    assert EvidenceDocument.objects.filter(measure=course).count() == 1


@pytest.fixture
def met(world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    return course, course.meetings.get(number=1)


def test_the_same_attendance_form_sent_twice_records_once(client_for, world, met):
    course, meeting = met
    leader = client_for(world.leader)
    key = key_in(leader.get(measure_url(course)), f"meeting-{meeting.number}")
    url = measure_url(course, f"moter/{meeting.pk}/")
    data = {**attendance_data(meeting), f"meeting-{meeting.number}-submission_key": key}

    assert leader.post(url, data).status_code == 302
    changes = CourseMeeting.history.filter(id=meeting.pk).count()
    second = leader.post(url, data)

    assert second.status_code == 302
    assert messages_of(second)[-1] == nb(ALREADY_RECORDED)
    assert CourseMeeting.history.filter(id=meeting.pk).count() == changes


def test_a_correction_of_attendance_from_a_new_form_is_recorded(client_for, world, met):
    course, meeting = met
    leader = client_for(world.leader)
    url = measure_url(course, f"moter/{meeting.pk}/")
    prefix = f"meeting-{meeting.number}"
    for attendance, reason in (("attended", ""), ("absent", "Syk")):
        key = key_in(leader.get(measure_url(course)), prefix)
        data = {**attendance_data(meeting, attendance, reason), f"{prefix}-submission_key": key}
        assert leader.post(url, data).status_code == 302
    meeting.refresh_from_db()
    assert (meeting.attendance, meeting.absence_reason) == ("absent", "Syk")


def test_attendance_sent_again_unchanged_from_a_new_form_changes_nothing(client_for, world, met):
    course, meeting = met
    leader = client_for(world.leader)
    url = measure_url(course, f"moter/{meeting.pk}/")
    assert leader.post(url, attendance_data(meeting)).status_code == 302
    changes = CourseMeeting.history.filter(id=meeting.pk).count()

    again = leader.post(url, attendance_data(meeting))

    assert messages_of(again)[-1] == nb(ALREADY_RECORDED)
    assert CourseMeeting.history.filter(id=meeting.pk).count() == changes


# ----------------------------------------------------------------------------- the case


def test_a_second_withdrawal_is_told_the_order_is_already_withdrawn(drive, client_for, order):
    assert drive.withdraw(order).status_code == 302
    before = Order.history.filter(id=order.pk).count()

    second = drive.withdraw(order, reason="Trukket igjen")

    assert second.status_code == 302
    assert second["Location"] == f"/saker/{order.pk}/"
    assert messages_of(second)[-1] == nb(
        "The order has already been withdrawn; nothing was changed."
    )
    assert Order.history.filter(id=order.pk).count() == before
    assert Order.objects.get(pk=order.pk).withdrawal_reason != "Trukket igjen"


def test_a_second_appeal_decision_is_told_the_appeal_is_already_decided(drive, order):
    drive.appeal(order)
    appeal = Appeal.objects.get(order=order)
    assert drive.decide(order, appeal, "reversed", "authority").status_code == 302

    second = drive.decide(order, appeal, "reversed", "authority")

    assert second.status_code == 302
    assert second["Location"] == f"/saker/{order.pk}/"
    assert messages_of(second)[-1] == nb("The appeal has already been decided.")
    appeal.refresh_from_db()
    assert appeal.outcome == Appeal.Outcome.REVERSED
    assert Appeal.history.filter(id=appeal.pk).count() == 2  # registered, decided


def test_an_appeal_of_another_case_is_still_not_found(drive, world, order):
    from tests import factories

    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp, number=77
    )
    drive.appeal(other)
    appeal = Appeal.objects.get(order=other)
    assert drive.decide(order, appeal, "reversed", "authority").status_code == 404


def test_another_authority_may_use_the_same_case_number(drive, world, client_for):
    from tests import factories

    drive.issued(number=556)
    other = factories.caseworker_for(world.other_authority, username="annen2")
    data = issue_data(
        world, number=556, issuing_authority=world.other_authority.pk, caseworker=other.pk
    )
    assert client_for(other).post("/saker/ny/", data).status_code == 302
    assert Order.objects.filter(case_number="2026/556").count() == 2
