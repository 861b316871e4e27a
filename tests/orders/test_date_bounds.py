"""Dates from users are bounded (issue 10, point 1): a year-9999 deadline once made the
municipality's plan step answer 500 for good. Every date a form takes is held to a range and
refused with a Norwegian message naming it; the models refuse the same through full_clean;
the deadline arithmetic cannot overflow; and a row that already holds an extreme date still
shows on every page and keeps its timers running."""

import io
import re
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from courses.models import Measure
from municipalities import bounds
from municipalities.workdays import deadline_after, next_working_day
from orders import deadlines, services
from orders.models import DeadlineExtension, Order
from tests import factories
from tests.orders import http_flow, lifecycle
from tests.orders.http_flow import Driver, case_url, form_errors, issue_data, step_url

RANGE_MESSAGE = "Velg en dato mellom"


def today():
    return timezone.localdate()


@pytest.fixture
def driver(client_for, world):
    return Driver(client_for, world)


def assert_refused(response, field, text=RANGE_MESSAGE):
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert field in errors, form_errors(response)
    assert text in " ".join(errors[field]), errors[field]
    assert text in response.content.decode()


# --- the issue form ------------------------------------------------------------------------


@pytest.mark.parametrize("deadline", ["9999-12-24", "9999-12-31", "2200-01-01"])
def test_issue_form_refuses_a_deadline_at_the_end_of_the_calendar(driver, deadline):
    response = driver.issue(deadline=deadline)
    assert_refused(response, "deadline")
    assert not Order.objects.exists()


def test_issue_form_refuses_a_deadline_more_than_five_years_after_the_decision(driver):
    decision = today() - timedelta(days=14)
    too_late = bounds.years_after(decision, 5) + timedelta(days=1)
    response = driver.issue(decision_date=decision.isoformat(), deadline=too_late.isoformat())
    assert_refused(response, "deadline", "Fristen kan være høyst 5 år etter vedtaksdatoen")
    assert not Order.objects.exists()


def test_issue_form_takes_a_deadline_five_years_after_the_decision(driver):
    decision = today() - timedelta(days=14)
    order = driver.issued(
        decision_date=decision.isoformat(),
        deadline=bounds.years_after(decision, 5).isoformat(),
    )
    assert order.deadline == bounds.years_after(decision, 5)


@pytest.mark.parametrize("decision", ["0001-01-01", "1999-12-31"])
def test_issue_form_refuses_a_decision_before_2000(driver, decision):
    response = driver.issue(decision_date=decision)
    assert_refused(response, "decision_date")
    assert "01.01.2000" in response.content.decode()
    assert not Order.objects.exists()


def test_issue_form_refuses_a_decision_in_the_future(driver):
    response = driver.issue(decision_date=(today() + timedelta(days=1)).isoformat())
    assert_refused(response, "decision_date")
    assert not Order.objects.exists()


@pytest.mark.parametrize("received", ["9999-12-31", "0001-01-01"])
def test_issue_form_refuses_an_extreme_date_of_receipt(driver, received):
    response = driver.issue(decision_received_on=received)
    assert_refused(response, "decision_received_on")
    assert not Order.objects.exists()


def _input(page, name):
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_the_date_pickers_carry_the_range(world, client_for):
    page = client_for(world.caseworker).get("/saker/ny/").content.decode()
    decision = _input(page, "decision_date")
    assert 'min="2000-01-01"' in decision and f'max="{today().isoformat()}"' in decision
    latest = bounds.years_after(today(), bounds.YEARS_AHEAD).isoformat()
    assert f'max="{latest}"' in _input(page, "deadline")


# --- the models and services ---------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value", [("deadline", date(9999, 12, 31)), ("decision_date", date(1, 1, 1))]
)
def test_the_issue_service_refuses_an_extreme_date(world, field, value):
    with pytest.raises(ValidationError) as refused:
        factories.issue_order(
            caseworker=world.caseworker,
            authority=world.authority,
            personnel=world.gp,
            **{field: value},
        )
    assert field in refused.value.message_dict
    assert not Order.objects.exists()


def test_the_extension_service_refuses_more_than_five_years(world, order):
    with pytest.raises(ValidationError) as refused:
        services.extend_deadline(
            order=order,
            acting_user=world.caseworker,
            new_deadline=bounds.years_after(order.decision_date, 5) + timedelta(days=1),
            reason="For sent.",
        )
    assert "new_deadline" in refused.value.message_dict
    assert not DeadlineExtension.objects.exists()


# --- the extension and the measure forms ---------------------------------------------------


@pytest.mark.parametrize("new_deadline", [date(9999, 12, 31), date(2200, 1, 1)])
def test_extension_to_the_end_of_the_calendar_is_a_form_error(driver, order, new_deadline):
    before = Order.objects.get(pk=order.pk).deadline
    response = driver.extend(order, new_deadline)
    assert_refused(response, "new_deadline")
    assert Order.objects.get(pk=order.pk).deadline == before
    assert not DeadlineExtension.objects.exists()


def test_extension_past_five_years_from_the_decision_is_a_form_error(driver, order):
    too_late = bounds.years_after(order.decision_date, 5) + timedelta(days=1)
    response = driver.extend(order, too_late)
    assert_refused(response, "new_deadline", "Fristen kan være høyst 5 år etter vedtaksdatoen")
    assert not DeadlineExtension.objects.exists()


@pytest.fixture
def course_measure(world, order):
    lifecycle.plan(order, world.leader)
    return Measure.objects.get(order=order)


def measure_url(measure, suffix):
    return f"/saker/{measure.order_id}/tiltak/{measure.pk}/{suffix}/"


@pytest.mark.parametrize("enrolled_on", ["9999-12-31", "0001-01-01"])
def test_enrolment_date_at_the_ends_of_the_calendar_is_a_form_error(
    world, client_for, course_measure, enrolled_on
):
    response = client_for(world.leader).post(
        measure_url(course_measure, "pamelding"), {"enrol-enrolled_on": enrolled_on}
    )
    assert response.status_code == 200
    assert RANGE_MESSAGE in response.content.decode()
    assert Measure.objects.get(pk=course_measure.pk).enrolled_on is None


def test_the_enrolment_service_refuses_a_year_9999_date(world, course_measure):
    with pytest.raises(ValidationError):
        services.enrol_in_course(
            measure=course_measure, acting_user=world.leader, enrolled_on=date(9999, 12, 31)
        )
    assert Measure.objects.get(pk=course_measure.pk).enrolled_on is None


def test_planned_completion_in_year_9999_is_a_form_error(driver, world, order):
    measure = {**http_flow.course_measure(factories.course()), "planned_completion": "9999-12-31"}
    response = driver.plan(order, [measure])
    assert response.status_code == 200
    assert RANGE_MESSAGE in response.content.decode()
    assert not Measure.objects.exists()


def test_appeal_received_in_year_1_is_a_form_error(driver, order):
    response = driver.appeal(order, received_on=date(1, 1, 1))
    assert_refused(response, "received_on")
    assert not order.appeals.exists()


# --- the arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day", [date.max, date.max - timedelta(days=1), date(9999, 12, 24), date.min, date(1, 1, 3)]
)
def test_deadline_arithmetic_stays_inside_the_calendar(day):
    for moment in (
        deadlines.passes_at(day),
        deadlines.reminder_at(day),
        deadlines.escalation_at(day),
    ):
        assert isinstance(moment, datetime) and timezone.is_aware(moment)
        assert moment.astimezone(timezone.get_current_timezone()).date() <= date.max
    assert deadline_after(day, 21) >= day
    assert next_working_day(day) >= day
    assert deadlines.passes_at(day) <= deadlines.escalation_at(day)
    if day > date(1, 1, 10):  # the first days of the calendar are held at its edge
        assert deadlines.reminder_at(day) <= deadlines.passes_at(day)


def test_arithmetic_is_unchanged_for_ordinary_dates():
    due = date(2027, 2, 3)
    assert deadlines.passes_at(due) == timezone.make_aware(datetime(2027, 2, 4))
    assert deadlines.reminder_at(due) == timezone.make_aware(datetime(2027, 1, 31, 7))
    assert deadlines.escalation_at(due) == timezone.make_aware(datetime(2027, 2, 11))


# --- rows that already hold an extreme date ------------------------------------------------


def _legacy(order, **dates):
    """Give a saved order dates that no form or service accepts any more, as a database from
    before the bounds (or a hand edit) holds them: save() runs no validators."""
    order = Order.objects.get(pk=order.pk)
    for name, value in dates.items():
        setattr(order, name, value)
    order.save()
    return order


def _pages_answer(client, order, measure=None):
    urls = [case_url(order), "/saker/", "/oppgaver/", f"/kommuner/{order.municipality.number}/"]
    if measure is not None:
        urls.append(measure_url(measure, "")[:-1])
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize(
    "dates",
    [
        {"deadline": date(9999, 12, 31)},
        {"deadline": date.max, "decision_received_on": date.max},
        {"decision_date": date(1, 1, 1), "deadline": date(1, 2, 1)},
    ],
    ids=["deadline-9999", "received-9999", "decision-year-1"],
)
def test_a_row_with_an_extreme_date_breaks_no_page_and_no_timer(world, client_for, order, dates):
    order = _legacy(order, **dates)
    leader = client_for(world.leader)
    # The plan step opens, and its completion arms the next step's timers from the deadline.
    task = lifecycle.open_task(order, "plan_measures")
    assert leader.get(step_url(order, task)).status_code == 200
    lifecycle.plan(order, world.leader)
    measure = Measure.objects.get(order=order)
    measure.enrolled_on = dates.get("deadline")
    measure.save()
    _pages_answer(leader, order, measure)
    _pages_answer(client_for(world.caseworker), order, measure)
    # The GP acknowledges over the web, and the scheduled command runs as cron would.
    gp = client_for(world.gp_user)
    ack = lifecycle.open_task(order, "acknowledge")
    assert gp.get(step_url(order, ack)).status_code == 200
    assert gp.post(step_url(order, ack), {"accepted": "on"}).status_code == 302
    out = io.StringIO()
    call_command("run_deadlines", stdout=out)
    call_command("run_deadlines", stdout=out)
    _pages_answer(client_for(world.leader), order, measure)
    # The case can still be extended (if the range allows) and withdrawn.
    response = client_for(world.caseworker).post(
        f"/saker/{order.pk}/trekk-tilbake/",
        {"reason": "Registrert med feil dato.", "confirm": "on"},
    )
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == "CANCELED"
    assert client_for(world.caseworker).get(case_url(order)).status_code == 200


def test_extending_a_row_with_a_year_9999_deadline_is_a_form_error_not_a_500(driver, world, order):
    order = _legacy(order, deadline=date(9999, 12, 31))
    response = driver.extend(order, date(2030, 1, 1))
    assert response.status_code == 200
    assert not DeadlineExtension.objects.exists()


def test_issue_data_is_valid_as_given(driver):
    """The helper's data passes the bounds (a guard for the tests above)."""
    assert driver.issue().status_code == 302, issue_data
