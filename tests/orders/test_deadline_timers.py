"""The deadline timers, with the clock moved by time-machine and the scheduled command run as
cron would run it: a reminder once, on the right day; an overdue notice the day after; a
follow-up task for the caseworker after the grace period, once however often the command runs;
an extension that moves every timer; nothing left ticking on a closed case.

The order in most tests is issued on Monday 4 January 2027 at 09:00, Oslo time, so with the
default settings (30 planning days, reminder 3 days before, 7 days' grace):

    planning deadline   Wednesday 3 February
    reminder            Sunday 31 January, 07:00
    overdue notice      Thursday 4 February, 00:00
    follow-up task      Thursday 11 February, 00:00
"""

import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from courses.models import Measure
from orders import deadlines, services
from orders.models import FollowUp, Notification, Order
from tests import factories
from tests.orders import lifecycle

OSLO = ZoneInfo("Europe/Oslo")
Kind = Notification.Kind

ISSUED = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
PLANNING_DUE = date(2027, 2, 3)


def at(year, month, day, hour=9, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


@pytest.fixture
def clock(time_machine):
    """Move the frozen clock: ``clock(at(...))``."""

    def move(moment):
        time_machine.move_to(moment, tick=False)

    move(ISSUED)
    return move


@pytest.fixture
def run(clock):
    """Run the scheduled command at a moment (``times`` times in a row)."""

    def run_at(moment, times=1):
        clock(moment)
        for _ in range(times):
            call_command("run_deadlines", stdout=io.StringIO())

    return run_at


def issue(world, **overrides):
    return factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, **overrides
    )


def notices(order, kind, **filters):
    return list(Notification.objects.filter(order=order, kind=kind, **filters).order_by("pk"))


def recipients(order, kind, **filters):
    return sorted(n.recipient.username for n in notices(order, kind, **filters))


def mailed(kind=None):
    """(address, notice) for every e-mail sent, found by the one link each carries."""
    found = []
    for message in mail.outbox:
        pk = int(re.search(r"/varsler/(\d+)/", message.body).group(1))
        notice = Notification.objects.get(pk=pk)
        if kind is None or notice.kind == kind:
            found.append((message.to, notice))
    return found


def follow_up_tasks(order):
    return [
        t
        for t in Task.objects.filter(process_id=order.pk, flow_task_type="HUMAN")
        if t.flow_task.name == "follow_up"
    ]


def scheduled_timers(order, step=None):
    timers = Task.objects.filter(
        process_id=order.pk, flow_task_type="TIMER", status=STATUS.SCHEDULED
    )
    return [t for t in timers if step is None or t.flow_task._attached_to.name == step]


# --- reminder -------------------------------------------------------------------------


def test_reminder_goes_to_the_municipality_leaders_once_on_the_right_day(world, run):
    second_leader = factories.leader_for(world.municipality, username="leder.to")
    order = issue(world)
    assert deadlines.planning_deadline(order) == PLANNING_DUE

    run(at(2027, 1, 30, 23, 59))
    assert notices(order, Kind.REMINDER) == []

    run(at(2027, 1, 31, 7, 0), times=2)
    run(at(2027, 1, 31, 15, 0))
    assert recipients(order, Kind.REMINDER) == sorted([world.leader.username, "leder.to"])
    reminder = notices(order, Kind.REMINDER)[0]
    assert (reminder.deadline_kind, reminder.due) == (deadlines.Kind.PLANNING, PLANNING_DUE)
    assert sorted(to for to, _ in mailed(Kind.REMINDER)) == sorted(
        [[world.leader.email], [second_leader.email]]
    )
    assert world.other_leader.notifications.count() == 0


def test_no_reminder_the_day_before_the_reminder_day(world, run):
    order = issue(world)
    run(at(2027, 1, 30, 12, 0), times=2)
    assert notices(order, Kind.REMINDER) == []
    assert mailed(Kind.REMINDER) == []


# --- overdue ----------------------------------------------------------------------------


def test_overdue_notice_comes_the_day_after_the_deadline_once(world, run):
    order = issue(world)
    run(at(2027, 2, 3, 23, 59))
    assert notices(order, Kind.OVERDUE) == []

    run(at(2027, 2, 4, 0, 0), times=2)
    run(at(2027, 2, 4, 12, 0))
    assert recipients(order, Kind.OVERDUE) == [world.leader.username]
    assert notices(order, Kind.OVERDUE)[0].due == PLANNING_DUE
    assert [to for to, _ in mailed(Kind.OVERDUE)] == [[world.leader.email]]
    assert follow_up_tasks(order) == []


# --- escalation: the caseworker's follow-up task ---------------------------------------


def test_follow_up_task_for_the_caseworker_after_the_grace_period_once(world, run):
    colleague = factories.caseworker_for(world.authority, username="kollega")
    order = issue(world)

    run(at(2027, 2, 10, 23, 59))
    assert follow_up_tasks(order) == []
    assert notices(order, Kind.ESCALATION) == []

    for moment in (at(2027, 2, 11, 0, 0), at(2027, 2, 11, 0, 10), at(2027, 2, 12, 8, 0)):
        run(moment, times=2)

    [task] = follow_up_tasks(order)
    assert (task.flow_task_type, task.status) == ("HUMAN", STATUS.NEW)
    # The late step stays open beside it: the municipality can still plan.
    assert lifecycle.open_task(order, "plan_measures")
    assert recipients(order, Kind.ESCALATION) == [world.caseworker.username]
    escalation = notices(order, Kind.ESCALATION)[0]
    assert (escalation.deadline_kind, escalation.due) == (deadlines.Kind.PLANNING, PLANNING_DUE)
    assert [to for to, _ in mailed(Kind.ESCALATION)] == [[world.caseworker.email]]
    assert colleague.notifications.count() == 0
    assert world.other_caseworker.notifications.count() == 0


def test_grace_period_follows_the_setting(world, run, settings):
    settings.ESCALATION_GRACE_DAYS = 2
    order = issue(world)
    run(at(2027, 2, 5, 23, 59))
    assert follow_up_tasks(order) == []
    run(at(2027, 2, 6, 0, 0), times=2)
    assert len(follow_up_tasks(order)) == 1


def test_no_follow_up_when_the_step_is_done_during_the_grace_period(world, run, clock):
    order = issue(world)
    run(at(2027, 2, 4, 8, 0))
    assert recipients(order, Kind.OVERDUE) == [world.leader.username]

    clock(at(2027, 2, 8))
    lifecycle.plan(order, world.leader)
    assert scheduled_timers(order, "plan_measures") == []

    run(at(2027, 2, 11, 0, 0), times=2)
    run(at(2027, 2, 20))
    assert follow_up_tasks(order) == []
    assert notices(order, Kind.ESCALATION) == []
    assert mailed(Kind.ESCALATION) == []


def test_caseworker_records_the_follow_up_through_the_step_page(world, run, client_for):
    order = issue(world)
    run(at(2027, 2, 11, 8, 0))
    [task] = follow_up_tasks(order)
    url = f"/saker/{order.pk}/steg/{task.pk}/"

    # Only the issuing authority follows up.
    response = client_for(world.leader).post(url, {"action": "contacted", "note": "Nei."})
    assert response.status_code == 403

    client = client_for(world.caseworker)
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"action": FollowUp.Action.CONTACTED, "note": "Ringte kommunen; plan kommer."}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/saker/{order.pk}/"

    [record] = FollowUp.objects.filter(order=order)
    assert (record.step, record.due, record.action, record.decided_by) == (
        "plan_measures",
        PLANNING_DUE,
        FollowUp.Action.CONTACTED,
        world.caseworker,
    )
    task.refresh_from_db()
    assert task.status == STATUS.DONE
    # The case goes on: the municipality still has to plan, and no new follow-up comes.
    assert lifecycle.open_task(order, "plan_measures")
    run(at(2027, 2, 25), times=2)
    assert len(follow_up_tasks(order)) == 1
    assert len(notices(order, Kind.ESCALATION)) == 1


def test_follow_up_needs_a_note(world, run, client_for):
    order = issue(world)
    run(at(2027, 2, 11, 8, 0))
    [task] = follow_up_tasks(order)
    response = client_for(world.caseworker).post(
        f"/saker/{order.pk}/steg/{task.pk}/", {"action": FollowUp.Action.CONTACTED, "note": ""}
    )
    assert response.status_code == 200
    assert not FollowUp.objects.filter(order=order).exists()


# --- extension --------------------------------------------------------------------------

# Completion deadline Monday 1 March 2027: reminder 26 February 07:00, overdue 2 March,
# follow-up 9 March. Extended to Thursday 1 April: reminder 29 March, overdue 2 April,
# follow-up 9 April.
OLD_DEADLINE = date(2027, 3, 1)
NEW_DEADLINE = date(2027, 4, 1)


@pytest.fixture(params=["acknowledge", "confirm_completion"])
def at_completion_step(request, world, clock):
    """An order whose open step works to the completion deadline, and who must take it."""
    order = issue(world, deadline=OLD_DEADLINE)
    lifecycle.advance(order, world.leader, request.param)
    who = world.gp_user if request.param == "acknowledge" else world.leader
    return order, request.param, who


def test_extension_moves_the_completion_deadline_timers(at_completion_step, world, run, clock):
    order, step, who = at_completion_step
    assert len(scheduled_timers(order, step)) == 3

    clock(at(2027, 2, 15))
    services.extend_deadline(
        order=order, acting_user=world.caseworker, new_deadline=NEW_DEADLINE, reason="Sykdom."
    )
    timers = scheduled_timers(order, step)
    assert sorted(t.scheduled for t in timers) == [
        at(2027, 3, 29, 7, 0),
        at(2027, 4, 2, 0, 0),
        at(2027, 4, 9, 0, 0),
    ]

    # Nothing at the old dates.
    for moment in (at(2027, 2, 26, 8), at(2027, 3, 2, 8), at(2027, 3, 9, 8)):
        run(moment, times=2)
    assert notices(order, Kind.REMINDER) == []
    assert notices(order, Kind.OVERDUE) == []
    assert follow_up_tasks(order) == []

    # Everything at the new ones, once.
    run(at(2027, 3, 29, 7, 0), times=2)
    assert [(n.recipient, n.due) for n in notices(order, Kind.REMINDER)] == [(who, NEW_DEADLINE)]
    run(at(2027, 4, 1, 23, 59))
    assert notices(order, Kind.OVERDUE) == []
    run(at(2027, 4, 2, 0, 0), times=2)
    assert [(n.recipient, n.due) for n in notices(order, Kind.OVERDUE)] == [(who, NEW_DEADLINE)]
    run(at(2027, 4, 9, 0, 0), times=2)
    assert len(follow_up_tasks(order)) == 1
    assert [to for to, _ in mailed(Kind.REMINDER)] == [[who.email]]
    assert [to for to, _ in mailed(Kind.OVERDUE)] == [[who.email]]
    assert [to for to, _ in mailed(Kind.ESCALATION)] == [[world.caseworker.email]]


def test_extension_after_the_overdue_notice_rearms_for_the_new_date(world, run, clock):
    order = issue(world, deadline=OLD_DEADLINE)
    lifecycle.advance(order, world.leader, "confirm_completion")
    run(at(2027, 3, 2, 8, 0))
    assert [n.due for n in notices(order, Kind.OVERDUE)] == [OLD_DEADLINE]

    clock(at(2027, 3, 3))
    services.extend_deadline(
        order=order,
        acting_user=world.caseworker,
        new_deadline=date(2027, 3, 15),
        reason="Kurset ble utsatt.",
    )
    # The old follow-up moment passes without a task: the step is no longer late.
    run(at(2027, 3, 9, 8, 0), times=2)
    assert follow_up_tasks(order) == []

    run(at(2027, 3, 15, 23, 59))
    assert [n.due for n in notices(order, Kind.OVERDUE)] == [OLD_DEADLINE]
    run(at(2027, 3, 16, 0, 0), times=2)
    assert [n.due for n in notices(order, Kind.OVERDUE)] == [OLD_DEADLINE, date(2027, 3, 15)]
    assert [n.due for _, n in mailed(Kind.OVERDUE)] == [OLD_DEADLINE, date(2027, 3, 15)]

    run(at(2027, 3, 23, 0, 0), times=3)
    assert len(follow_up_tasks(order)) == 1


def test_extension_onto_a_holiday_arms_the_timers_for_the_next_working_day(world, run, clock):
    order = issue(world, deadline=OLD_DEADLINE)
    lifecycle.advance(order, world.leader, "confirm_completion")
    clock(at(2027, 2, 15))
    services.extend_deadline(
        order=order,
        acting_user=world.caseworker,
        new_deadline=date(2027, 3, 25),  # Maundy Thursday: the deadline is Tuesday 30 March
        reason="Påske.",
    )
    run(at(2027, 3, 30, 23, 59))
    assert notices(order, Kind.OVERDUE) == []
    run(at(2027, 3, 31, 0, 0))
    assert [n.due for n in notices(order, Kind.OVERDUE)] == [date(2027, 3, 30)]


# --- closed cases -----------------------------------------------------------------------


def test_withdrawn_order_gets_no_more_notices(world, run, clock):
    order = issue(world)
    run(at(2027, 1, 31, 8, 0))
    assert len(notices(order, Kind.REMINDER)) == 1
    assert scheduled_timers(order)

    clock(at(2027, 2, 1))
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Omgjort.")
    assert Order.objects.get(pk=order.pk).status == STATUS.CANCELED
    assert scheduled_timers(order) == []

    for moment in (at(2027, 2, 4), at(2027, 2, 11), at(2027, 3, 1)):
        run(moment, times=2)
    assert notices(order, Kind.OVERDUE) == []
    assert notices(order, Kind.ESCALATION) == []
    assert follow_up_tasks(order) == []
    assert mailed(Kind.OVERDUE) == []


def test_fulfilled_order_has_no_timers_left(world, run):
    order = issue(world, deadline=OLD_DEADLINE)
    lifecycle.advance(order, world.leader, "sign_off", complete=True)
    lifecycle.sign_off(order, world.caseworker)
    assert Order.objects.get(pk=order.pk).status == STATUS.DONE
    assert scheduled_timers(order) == []

    run(at(2027, 6, 1), times=2)
    assert notices(order, Kind.REMINDER) == []
    assert notices(order, Kind.OVERDUE) == []
    assert follow_up_tasks(order) == []


def test_fulfilled_order_closes_an_open_follow_up(world, run, clock):
    order = issue(world)
    run(at(2027, 2, 11, 8, 0))
    [follow_up] = follow_up_tasks(order)

    clock(at(2027, 2, 12))
    lifecycle.advance(order, world.leader, "sign_off", complete=True)
    lifecycle.sign_off(order, world.caseworker)
    follow_up.refresh_from_db()
    assert follow_up.status == STATUS.CANCELED
    assert scheduled_timers(order) == []


# --- course terms -----------------------------------------------------------------------

# Enrolled Monday 4 January 2027: terms deadline Monday 18 January; reminder from Friday 15th.
ENROLLED = date(2027, 1, 4)
TERMS_DUE = date(2027, 1, 18)


@pytest.fixture
def enrolled(world):
    order = issue(world)
    lifecycle.plan(order, world.leader)
    measure = Measure.objects.get(order=order, kind=Measure.Kind.COURSE)
    services.enrol_in_course(measure=measure, acting_user=world.leader, enrolled_on=ENROLLED)
    measure.refresh_from_db()
    assert measure.terms_deadline == TERMS_DUE
    return order, measure


def test_course_terms_reminder_to_the_gp_then_overdue_to_gp_and_leader_once_each(
    enrolled, world, run
):
    order, _ = enrolled
    terms = {"deadline_kind": deadlines.Kind.TERMS}

    run(at(2027, 1, 14, 12))
    assert notices(order, Kind.REMINDER, **terms) == []

    run(at(2027, 1, 15, 8), times=2)
    run(at(2027, 1, 16, 8))
    assert recipients(order, Kind.REMINDER, **terms) == [world.gp_user.username]

    run(at(2027, 1, 18, 23, 59))
    assert notices(order, Kind.OVERDUE, **terms) == []

    run(at(2027, 1, 19, 0, 0), times=2)
    run(at(2027, 1, 20, 8))
    assert recipients(order, Kind.OVERDUE, **terms) == sorted(
        [world.gp_user.username, world.leader.username]
    )
    assert all(n.due == TERMS_DUE for n in notices(order, Kind.OVERDUE, **terms))

    by_kind = [(n.kind, to) for to, n in mailed() if n.deadline_kind == deadlines.Kind.TERMS]
    assert sorted(by_kind) == sorted(
        [
            (Kind.REMINDER, [world.gp_user.email]),
            (Kind.OVERDUE, [world.gp_user.email]),
            (Kind.OVERDUE, [world.leader.email]),
        ]
    )


def test_accepted_course_terms_are_not_overdue(enrolled, world, run, clock):
    order, measure = enrolled
    clock(at(2027, 1, 12))
    services.accept_course_terms(measure=measure, acting_user=world.gp_user)
    run(at(2027, 1, 15, 8))
    run(at(2027, 1, 19, 8))
    assert notices(order, Kind.REMINDER, deadline_kind=deadlines.Kind.TERMS) == []
    assert notices(order, Kind.OVERDUE, deadline_kind=deadlines.Kind.TERMS) == []


def test_extending_while_planning_is_late_opens_no_second_follow_up(world, run, clock):
    order = issue(world)
    run(at(2027, 2, 11, 8, 0))
    [task] = follow_up_tasks(order)

    clock(at(2027, 2, 12, 9, 0))
    services.follow_up(
        task=task,
        acting_user=world.caseworker,
        action=FollowUp.Action.EXTENDED,
        note="Fristen for gjennomføring er forlenget etter samtale med kommunen.",
    )
    services.extend_deadline(
        order=order,
        acting_user=world.caseworker,
        new_deadline=order.deadline + timedelta(days=30),
        reason="Avtalt med kommunen.",
    )
    run(at(2027, 2, 12, 10, 0), times=2)
    assert len(follow_up_tasks(order)) == 1
    assert len(notices(order, Kind.ESCALATION)) == 1
