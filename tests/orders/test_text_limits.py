"""Every free text has a maximum, in the form and in the model, and the form shows it (issue
10, point 5: a megabyte of grounds was accepted and shown on every page). Each form refuses
one character too many with a Norwegian message and saves nothing; the services refuse it
too (a second line behind the forms)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from courses.models import CourseMeeting, Measure, SupervisionSession
from municipalities import bounds
from orders import services
from orders.models import Appeal, DeadlineExtension, Order, Review
from tests import factories
from tests.orders import http_flow, lifecycle
from tests.orders.http_flow import Driver, form_errors, snapshot

MEGABYTE = "x" * 1_000_000
# Django's MaxLengthValidator, in bokmål.
TOO_LONG = "Sørg for at denne verdien har"


def today():
    return timezone.localdate()


def over(limit):
    return "å" * (limit + 1)


@pytest.fixture
def driver(client_for, world):
    return Driver(client_for, world)


def assert_too_long(response, field):
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert field in errors, form_errors(response)
    assert TOO_LONG in " ".join(errors[field]), errors[field]


# --- the issue form ------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["grounds_summary", "requirements"])
def test_a_megabyte_of_grounds_or_requirements_is_a_form_error_and_saves_nothing(driver, field):
    response = driver.issue(**{field: MEGABYTE})
    assert_too_long(response, field)
    assert not Order.objects.exists()


def test_the_issue_form_takes_exactly_the_limit(driver):
    order = driver.issued(grounds_summary="g" * bounds.GROUNDS_LENGTH)
    assert len(order.grounds_summary) == bounds.GROUNDS_LENGTH


def test_the_issue_form_shows_the_limits(world, client_for):
    page = client_for(world.caseworker).get("/saker/ny/").content.decode()
    assert 'maxlength="4000"' in page
    assert "Høyst 4\xa0000 tegn." in page


def test_the_issue_service_refuses_too_long_grounds(world):
    with pytest.raises(ValidationError) as refused:
        factories.issue_order(
            caseworker=world.caseworker,
            authority=world.authority,
            personnel=world.gp,
            grounds_summary=over(bounds.GROUNDS_LENGTH),
        )
    assert "grounds_summary" in refused.value.message_dict
    assert not Order.objects.exists()


# --- the case's forms ----------------------------------------------------------------------


def test_too_long_extension_reason_is_a_form_error(driver, order):
    before = snapshot(order)
    response = driver.extend(order, today() + timedelta(days=300), over(bounds.REASON_LENGTH))
    assert_too_long(response, "reason")
    assert snapshot(order) == before
    assert not DeadlineExtension.objects.exists()


def test_too_long_withdrawal_reason_is_a_form_error(driver, order):
    before = snapshot(order)
    response = driver.withdraw(order, over(bounds.REASON_LENGTH))
    assert_too_long(response, "reason")
    assert snapshot(order) == before


def test_too_long_appeal_note_is_a_form_error(driver, order):
    response = driver.appeal(order, note=over(bounds.REASON_LENGTH))
    assert_too_long(response, "note")
    assert not Appeal.objects.exists()


def test_too_long_appeal_decision_note_is_a_form_error(driver, world, order):
    appeal = services.register_appeal(
        order=order, acting_user=world.caseworker, received_on=today()
    )
    response = driver.decide(order, appeal, note=over(bounds.REASON_LENGTH))
    assert_too_long(response, "note")
    assert Appeal.objects.get(pk=appeal.pk).outcome == Appeal.Outcome.PENDING


def test_a_long_reason_fits_the_change_history(driver, order):
    """The history row's change reason holds 100 characters; a long reason (within the limit)
    is kept whole on the extension and shortened only in the history."""
    reason = "Lang begrunnelse. " * 50
    response = driver.extend(order, today() + timedelta(days=300), reason)
    assert response.status_code == 302, form_errors(response)
    assert DeadlineExtension.objects.get().reason == reason.strip()


def test_the_plan_form_refuses_a_too_long_description(driver, world, order):
    measure = http_flow.course_measure(factories.course(), description=over(bounds.REASON_LENGTH))
    response = driver.plan(order, [measure])
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()
    assert not Measure.objects.exists()


@pytest.fixture
def at_confirmation(world, order):
    lifecycle.plan(order, world.leader)
    lifecycle.acknowledge(order)
    return order


def test_the_confirmation_refuses_a_too_long_note_and_reason(driver, world, at_confirmation):
    order = at_confirmation
    before = snapshot(order)
    response = driver.confirm(order, note=over(bounds.REASON_LENGTH), reasons=MEGABYTE)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "note" in errors and any(name.startswith("reason_") for name in errors), errors
    assert snapshot(order) == before


def test_the_sign_off_refuses_a_too_long_reason(driver, world, at_confirmation):
    order = at_confirmation
    assert driver.confirm(order).status_code == 302
    response = driver.sign_off(order, "returned", over(bounds.REASON_LENGTH))
    assert_too_long(response, "reason")
    assert not Review.objects.exists()


def test_the_services_refuse_too_long_texts(world, order):
    with pytest.raises(ValidationError):
        services.withdraw_order(
            order=order, acting_user=world.caseworker, reason=over(bounds.WITHDRAWAL_LENGTH)
        )
    with pytest.raises(ValidationError):
        services.register_appeal(
            order=order,
            acting_user=world.caseworker,
            received_on=today(),
            note=over(bounds.REASON_LENGTH),
        )
    assert Order.objects.get(pk=order.pk).withdrawal_reason == ""
    assert not Appeal.objects.exists()


# --- the measure page's forms --------------------------------------------------------------


def measure_url(measure, suffix):
    return f"/saker/{measure.order_id}/tiltak/{measure.pk}/{suffix}/"


@pytest.fixture
def supervision(world, order):
    supervisor = factories.HealthPersonnelFactory(municipality=order.municipality, user=None)
    lifecycle.plan(order, world.leader, measures=2, supervisor=supervisor)
    measure = Measure.objects.get(order=order, kind=Measure.Kind.SUPERVISION)
    services.arrange_supervision(
        measure=measure,
        acting_user=world.leader,
        agreed_sessions=1,
        period_start=today() - timedelta(days=10),
        period_end=today() + timedelta(days=50),
    )
    return measure


def supervisor_login(measure):
    return Measure.objects.get(pk=measure.pk).supervisor.user


def test_the_final_report_has_a_limit(world, client_for, supervision):
    response = client_for(supervisor_login(supervision)).post(
        measure_url(supervision, "rapport"), {"report-report": over(bounds.REPORT_LENGTH)}
    )
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()
    assert Measure.objects.get(pk=supervision.pk).final_report == ""


def test_a_session_topic_has_a_limit(world, client_for, supervision):
    data = {
        "session-date": today().isoformat(),
        "session-duration_minutes": "60",
        "session-topic": over(bounds.TOPIC_LENGTH),
        "session-status": "held",
    }
    response = client_for(supervisor_login(supervision)).post(
        measure_url(supervision, "timer"), data
    )
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()
    assert not SupervisionSession.objects.exists()


def test_the_report_service_refuses_too_long_a_report(world, supervision):
    with pytest.raises(ValidationError):
        services.submit_supervision_report(
            measure=supervision,
            acting_user=supervisor_login(supervision),
            report=over(bounds.REPORT_LENGTH),
        )


@pytest.fixture
def meeting(world, order):
    from courses.models import Course

    course = Course.objects.create(
        title="Kvalitetspakke", provider=Course.Provider.SKIL, format=Course.Format.QUALITY_PACKAGE
    )
    lifecycle.plan(order, world.leader)
    measure = Measure.objects.get(order=order)
    measure.course = course
    measure.save()
    services.enrol_in_course(
        measure=measure,
        acting_user=world.leader,
        enrolled_on=today() - timedelta(days=30),
        group_name="Gruppe 1",
        group_leader="Kari",
        meeting_dates=[today() - timedelta(days=d) for d in (20, 10, 5)],
    )
    return measure.meetings.get(number=1)


def test_an_absence_reason_has_a_limit(world, client_for, meeting):
    url = f"/saker/{meeting.measure.order_id}/tiltak/{meeting.measure_id}/moter/{meeting.pk}/"
    response = client_for(world.leader).post(
        url, {"meeting-1-attendance": "absent", "meeting-1-absence_reason": MEGABYTE}
    )
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()
    assert CourseMeeting.objects.get(pk=meeting.pk).attendance == CourseMeeting.Attendance.UNKNOWN
