"""Each deadline of an order, computed the Norwegian way: a deadline that ends on a Saturday,
Sunday or public holiday (Easter, 17 May, Christmas…) moves to the next working day, and a day
is a day in Norway (an order issued just after midnight Oslo time is issued that day)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from courses.models import Measure
from municipalities import workdays
from orders import deadlines, services
from orders.models import NextDeadline
from tests import factories
from tests.orders import lifecycle

OSLO = ZoneInfo("Europe/Oslo")


def at(day, hour=9, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)


def issued(world, **overrides):
    return factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, **overrides
    )


# --- working days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "moved_to"),
    [
        (date(2027, 1, 9), date(2027, 1, 11)),  # Saturday → Monday
        (date(2027, 1, 10), date(2027, 1, 11)),  # Sunday → Monday
        (date(2027, 3, 25), date(2027, 3, 30)),  # Maundy Thursday → Tuesday after Easter
        (date(2027, 3, 26), date(2027, 3, 30)),  # Good Friday
        (date(2027, 3, 27), date(2027, 3, 30)),  # Easter Saturday
        (date(2027, 3, 28), date(2027, 3, 30)),  # Easter Sunday
        (date(2027, 3, 29), date(2027, 3, 30)),  # Easter Monday
        (date(2027, 5, 17), date(2027, 5, 18)),  # 17 May and Whit Monday, a Monday in 2027
        (date(2026, 5, 17), date(2026, 5, 18)),  # 17 May 2026 is a Sunday
        (date(2026, 12, 25), date(2026, 12, 28)),  # Christmas Day, then the weekend
        (date(2026, 12, 26), date(2026, 12, 28)),  # Boxing Day (a Saturday)
        (date(2027, 1, 1), date(2027, 1, 4)),  # New Year's Day (a Friday), then the weekend
    ],
)
def test_deadline_on_a_day_off_moves_to_the_next_working_day(day, moved_to):
    assert not workdays.is_working_day(day)
    assert workdays.next_working_day(day) == moved_to


@pytest.mark.parametrize(
    "day",
    [
        date(2027, 3, 24),  # Wednesday before Easter
        date(2027, 3, 30),  # Tuesday after Easter
        date(2026, 12, 24),  # Christmas Eve is not a public holiday
        date(2026, 12, 31),  # nor New Year's Eve
        date(2026, 5, 18),
    ],
)
def test_working_day_stays(day):
    assert workdays.is_working_day(day)
    assert workdays.next_working_day(day) == day


def test_holiday_name_explains_why_a_deadline_moved():
    assert workdays.holiday_name(date(2027, 3, 26))  # Good Friday
    assert workdays.holiday_name(date(2027, 3, 24)) == ""


def test_deadline_after_counts_calendar_days_then_moves_off_holidays():
    # 4 March + 21 days is Maundy Thursday 25 March: the deadline is Tuesday 30 March.
    assert workdays.deadline_after(date(2027, 3, 4), 21) == date(2027, 3, 30)
    # 26 April + 21 days is 17 May 2027: the deadline is 18 May.
    assert workdays.deadline_after(date(2027, 4, 26), 21) == date(2027, 5, 18)
    # Counted from a holiday, onto a working day: no move.
    assert workdays.deadline_after(date(2027, 3, 29), 2) == date(2027, 3, 31)


# --- course terms: 14 days from enrolment ----------------------------------------------


def _enrolled(world, order, enrolled_on):
    lifecycle.plan(order, world.leader)
    measure = Measure.objects.get(order=order, kind=Measure.Kind.COURSE)
    services.enrol_in_course(measure=measure, acting_user=world.leader, enrolled_on=enrolled_on)
    return Measure.objects.get(pk=measure.pk)


def test_terms_deadline_on_maundy_thursday_moves_past_easter(world, time_machine):
    time_machine.move_to(at(date(2027, 3, 11)), tick=False)
    order = issued(world)
    # 11 March + 14 days = Maundy Thursday 25 March.
    measure = _enrolled(world, order, date(2027, 3, 11))
    assert measure.terms_deadline == date(2027, 3, 30)
    assert not measure.terms_overdue(today=date(2027, 3, 29))
    assert measure.terms_overdue(today=date(2027, 3, 31))


def test_terms_deadline_on_17_may_moves_to_18_may(world, time_machine):
    time_machine.move_to(at(date(2027, 5, 3)), tick=False)
    order = issued(world)
    measure = _enrolled(world, order, date(2027, 5, 3))
    assert measure.terms_deadline == date(2027, 5, 18)


def test_terms_deadline_on_a_working_day_is_14_days_after_enrolment(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 20)), tick=False)
    order = issued(world)
    measure = _enrolled(world, order, date(2027, 1, 20))
    assert measure.terms_deadline == date(2027, 2, 3)


def test_terms_deadline_is_among_the_order_deadlines(world, time_machine):
    time_machine.move_to(at(date(2027, 3, 11)), tick=False)
    order = issued(world)
    measure = _enrolled(world, order, date(2027, 3, 11))
    terms = [
        d
        for d in deadlines.deadlines_of(
            order, open_steps={"acknowledge"}, measures=[measure], has_appeal=False
        )
        if d.kind == deadlines.Kind.TERMS
    ]
    assert [(d.due, d.met, d.measure_id) for d in terms] == [(date(2027, 3, 30), False, measure.pk)]


# --- appeal period: three weeks from receipt (fvl. § 29) -------------------------------


def test_appeal_deadline_counts_from_receipt_and_moves_off_easter_monday(world, time_machine):
    time_machine.move_to(at(date(2027, 3, 12)), tick=False)
    # Received Monday 8 March; + 21 days = Easter Monday 29 March.
    order = issued(world, decision_date=date(2027, 3, 5), decision_received_on=date(2027, 3, 8))
    assert deadlines.appeal_deadline(order) == date(2027, 3, 30)


def test_appeal_deadline_without_receipt_counts_from_the_decision_date(world, time_machine):
    time_machine.move_to(at(date(2027, 5, 3)), tick=False)
    # Decided 26 April; + 21 days = 17 May (and Whit Monday).
    order = issued(world, decision_date=date(2027, 4, 26))
    assert order.decision_received_on is None
    assert deadlines.appeal_deadline(order) == date(2027, 5, 18)


def test_appeal_period_is_a_right_never_an_overdue_duty(world, time_machine):
    time_machine.move_to(at(date(2027, 5, 3)), tick=False)
    order = issued(world, decision_date=date(2027, 4, 26))
    appeal = [
        d
        for d in deadlines.deadlines_of(order, open_steps={"plan_measures"}, measures=[])
        if d.kind == deadlines.Kind.APPEAL
    ][0]
    assert appeal.due == date(2027, 5, 18)
    assert not appeal.is_overdue(today=date(2027, 6, 1))


# --- planning: PLANNING_DAYS from the day the order was issued -------------------------


def test_planning_deadline_is_planning_days_after_issue(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    # 4 January + 30 days = Wednesday 3 February.
    assert deadlines.planning_deadline(order) == date(2027, 2, 3)


def test_planning_deadline_follows_the_setting_and_moves_off_easter(world, time_machine, settings):
    settings.PLANNING_DAYS = 10
    time_machine.move_to(at(date(2027, 3, 15)), tick=False)
    order = issued(world)
    # 15 March + 10 days = Maundy Thursday.
    assert deadlines.planning_deadline(order) == date(2027, 3, 30)


def test_planning_deadline_counts_from_the_norwegian_day_of_issue(world, time_machine):
    # 00:30 in Oslo on 5 January is still 4 January in UTC: the order was issued on the 5th.
    time_machine.move_to(at(date(2027, 1, 5), 0, 30), tick=False)
    order = issued(world)
    assert deadlines.issued_on(order) == date(2027, 1, 5)
    assert deadlines.planning_deadline(order) == date(2027, 2, 4)


def test_planning_deadline_is_the_next_deadline_of_a_new_order(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    next_deadline = NextDeadline.objects.get(order=order)
    assert (next_deadline.kind, next_deadline.due) == (deadlines.Kind.PLANNING, date(2027, 2, 3))


def carried(order):
    """What the order's next deadline carries of it for the deadline overview."""
    row = NextDeadline.objects.get(order=order)
    return (row.issuing_authority_id, row.municipality_id, row.is_open)


def test_the_next_deadline_carries_the_organisations_and_openness_of_its_order(world):
    order = issued(world)
    assert carried(order) == (world.authority.pk, world.municipality.pk, True)
    lifecycle.advance(order, world.leader, "sign_off", complete=True)
    assert carried(order) == (world.authority.pk, world.municipality.pk, True)
    lifecycle.sign_off(order, world.caseworker)
    assert carried(order) == (world.authority.pk, world.municipality.pk, False)


def test_a_withdrawn_order_is_counted_as_closed(world):
    order = issued(world)
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Feil person.")
    assert carried(order) == (world.authority.pk, world.municipality.pk, False)


# --- completion: the deadline in the order, as extended ---------------------------------


def test_completion_deadline_on_a_sunday_moves_to_monday(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world, deadline=date(2027, 6, 6))
    assert deadlines.completion_deadline(order) == date(2027, 6, 7)


def test_completion_deadline_on_a_working_day_stays(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world, deadline=date(2027, 6, 8))
    assert deadlines.completion_deadline(order) == date(2027, 6, 8)


def test_extended_completion_deadline_moves_off_17_may(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world, deadline=date(2027, 4, 30))
    services.extend_deadline(
        order=order,
        acting_user=world.caseworker,
        new_deadline=date(2027, 5, 17),
        reason="Kurset ble flyttet.",
    )
    order.refresh_from_db()
    assert deadlines.completion_deadline(order) == date(2027, 5, 18)


def test_steps_work_to_their_deadlines(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world, deadline=date(2027, 6, 6))
    assert deadlines.step_deadline(order, "plan_measures") == date(2027, 2, 3)
    assert deadlines.step_deadline(order, "acknowledge") == date(2027, 6, 7)
    assert deadlines.step_deadline(order, "confirm_completion") == date(2027, 6, 7)


def test_deadline_passes_at_midnight_after_its_last_day_in_oslo():
    passes = deadlines.passes_at(date(2027, 3, 30))
    assert passes == datetime(2027, 3, 31, 0, 0, tzinfo=OSLO)
    # Summer time: midnight in Oslo is 22:00 UTC the day before.
    assert passes.astimezone(ZoneInfo("UTC")) == datetime(
        2027, 3, 30, 22, 0, tzinfo=ZoneInfo("UTC")
    )
