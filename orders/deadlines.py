"""The deadlines of an order, computed the Norwegian way, and the moments the workflow's timers
fire for them (reminder, overdue, escalation).

Every deadline is a date; it has passed when that day is over in Norway. A deadline that falls
on a Saturday, Sunday or public holiday moves to the next working day (municipalities.workdays).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from municipalities.workdays import DueDate, add_days, deadline_after

from . import steps
from .deadline_kinds import LABELS, Kind
from .models import NextDeadline, Order

# fvl. § 29: three weeks from the day the decision was received.
APPEAL_DAYS = 21


class State:
    """Where a deadline stands. Met late and lapsed are states of their own: a deadline met
    after its day is not simply «met», and one of a closed case that nobody met did not pass
    unnoticed — it fell away with the case."""

    OPEN = "open"
    MET = "met"
    MET_LATE = "met_late"
    LAPSED = "lapsed"
    OVERDUE = "overdue"


class End:
    """How the order ended, for the deadlines it leaves behind."""

    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Deadline:
    kind: str
    due: date
    met: bool = False
    # What the deadline belongs to, when not the order itself (a course measure).
    measure_id: int | None = None
    # The appeal period is a right, not a duty: it is shown, never overdue.
    duty: bool = True
    # The Norwegian day it was met, when known (terms accepted, plan made, completion confirmed).
    met_on: date | None = None
    # End.FULFILLED or End.WITHDRAWN once the order is closed: an unmet duty then lapsed.
    ended: str = ""
    # The completion deadline as set, when the due date was moved off a day off.
    set_as: DueDate | None = None

    @property
    def label(self):
        return LABELS[self.kind]

    def days_left(self, today=None) -> int:
        return (self.due - (today or timezone.localdate())).days

    @property
    def days_overdue(self) -> int:
        return -self.days_left()

    @property
    def days_late(self) -> int:
        return (self.met_on - self.due).days if self.met_on else 0

    def is_overdue(self, today=None) -> bool:
        return self.is_pending and self.days_left(today) < 0

    def is_due_soon(self, today=None, within=14) -> bool:
        return self.is_pending and 0 <= self.days_left(today) <= within

    @property
    def is_pending(self) -> bool:
        """Someone still has to meet it: a duty, not met, on an order that has not ended."""
        return self.duty and not self.met and not self.ended

    def state(self, today=None) -> str:
        if self.met:
            return State.MET_LATE if self.duty and self.days_late > 0 else State.MET
        if self.duty and self.ended:
            return State.LAPSED
        return State.OVERDUE if self.is_overdue(today) else State.OPEN

    @property
    def current_state(self) -> str:
        """state() today, for templates."""
        return self.state()


def issued_on(order) -> date:
    return timezone.localdate(order.created)


def planning_deadline(order) -> date:
    """The municipality plans the measures within a configurable number of days of issuance."""
    return deadline_after(issued_on(order), settings.PLANNING_DAYS)


def completion_due(order) -> DueDate:
    """The deadline set in the order (as extended), and where it falls (Order.completion)."""
    return order.completion


def completion_deadline(order) -> date:
    """The deadline set in the order (as extended), moved off a weekend or holiday."""
    return completion_due(order).due


def appeal_deadline(order) -> date:
    received = order.decision_received_on or order.decision_date
    return deadline_after(received, APPEAL_DAYS)


# Timer moments stay two days inside the calendar, so that no conversion to UTC or the
# database's time zone can step past its ends.
_FIRST_MOMENT_DAY = date.min + timedelta(days=2)
_LAST_MOMENT_DAY = date.max - timedelta(days=2)


def _moment(day: date, at: time) -> datetime:
    day = min(max(day, _FIRST_MOMENT_DAY), _LAST_MOMENT_DAY)
    return timezone.make_aware(datetime.combine(day, at))


def passes_at(due: date) -> datetime:
    """The moment a deadline has passed: midnight after its last day, Norwegian time."""
    return _moment(add_days(due, 1), time.min)


def reminder_at(due: date) -> datetime:
    """Morning of the day some days before the deadline (at once if that is already past)."""
    return _moment(add_days(due, -settings.REMINDER_DAYS_BEFORE), time(7))


def escalation_at(due: date) -> datetime:
    """After the grace period the authority's caseworker gets a follow-up task."""
    return _moment(add_days(due, 1 + settings.ESCALATION_GRACE_DAYS), time.min)


def step_deadline(order, step_name) -> date:
    """The deadline a step of the flow works to (its row in orders.steps)."""
    kind = steps.STEPS[step_name].deadline
    if kind == Kind.PLANNING:
        return planning_deadline(order)
    if kind == Kind.COMPLETION:
        return completion_deadline(order)
    raise ValueError(f"The step {step_name} has no deadline")


def watched_step(task):
    """The step whose deadline a timer or a follow-up is about: back from ``task`` through the
    branch nodes (the gate that weighed a follow-up, the timers) to the human step."""
    task = task.previous.get()
    while task.flow_task_type != "HUMAN":
        task = task.previous.get()
    return task


def ended(order) -> str:
    """End.WITHDRAWN, End.FULFILLED or "" (still open). A fulfilled order later reversed on
    appeal is withdrawn in law, though its flow ended as done."""
    if order.status == PROCESS.CANCELED or order.withdrawal_reason:
        return End.WITHDRAWN
    if order.status == PROCESS.DONE:
        return End.FULFILLED
    return ""


@dataclass(frozen=True)
class StepMoments:
    """What the order's steps say about its deadlines: the open steps, when the plan was made
    and when completion was (last) confirmed."""

    open_steps: frozenset = frozenset()
    planned_at: datetime | None = None
    confirmed_at: datetime | None = None


def step_moments(tasks) -> StepMoments:
    """From the order's human tasks (viewflow Task rows, any status). Completion counts as
    confirmed only if the latest confirmation step was done: a sign-off that sends the case
    back opens a new one, and the deadline is unmet again."""
    open_steps, planned, confirm_steps = set(), [], []
    for task in tasks:
        name = task.flow_task.name
        if task.status in (STATUS.NEW, STATUS.ASSIGNED):
            open_steps.add(name)
        if name == steps.PLAN_MEASURES.name and task.status == STATUS.DONE and task.finished:
            planned.append(task.finished)
        if name == steps.CONFIRM_COMPLETION.name:
            confirm_steps.append(task)
    latest = max(confirm_steps, key=lambda t: (t.created, t.pk), default=None)
    return StepMoments(
        open_steps=frozenset(open_steps),
        planned_at=min(planned, default=None),
        confirmed_at=latest.finished if latest and latest.status == STATUS.DONE else None,
    )


def _day(moment) -> date | None:
    return timezone.localdate(moment) if moment else None


def deadlines_of(
    order, *, open_steps, measures, has_appeal=False, planned_at=None, confirmed_at=None
) -> list[Deadline]:
    """Every deadline of the order, met or not. ``open_steps`` are the names of its open steps;
    ``measures`` its measures (the course ones carry the terms deadline); ``planned_at`` and
    ``confirmed_at`` when the plan was made and completion confirmed (step_moments), so that a
    deadline met after its day shows as met late."""
    end = ended(order)
    fulfilled = end == End.FULFILLED
    planned = fulfilled or planned_at is not None
    planned = planned or (not end and steps.PLAN_MEASURES.name not in open_steps)
    result = [
        Deadline(
            Kind.PLANNING,
            planning_deadline(order),
            met=planned,
            met_on=_day(planned_at) if planned else None,
            ended=end,
        )
    ]
    for measure in measures:
        if measure.is_course and measure.enrolled_on is not None:
            result.append(
                Deadline(
                    Kind.TERMS,
                    measure.terms_deadline,
                    met=measure.terms_accepted_at is not None,
                    met_on=_day(measure.terms_accepted_at),
                    measure_id=measure.pk,
                    ended=end,
                )
            )
    # Waiting on sign-off: completion was confirmed (the step before it).
    completed = fulfilled or confirmed_at is not None
    completed = completed or (not end and steps.SIGN_OFF.name in open_steps)
    completion = completion_due(order)
    result.append(
        Deadline(
            Kind.COMPLETION,
            completion.due,
            met=completed,
            met_on=_day(confirmed_at) if completed else None,
            ended=end,
            set_as=completion if completion.moved else None,
        )
    )
    result.append(Deadline(Kind.APPEAL, appeal_deadline(order), met=has_appeal, duty=False))
    return result


def next_due(deadlines) -> Deadline | None:
    """The earliest deadline someone still has to meet (what lists sort and filter by)."""
    pending = [d for d in deadlines if d.is_pending]
    return min(pending, key=lambda d: d.due) if pending else None


def refresh(order_pk) -> None:
    """Recompute the order's next deadline (models.NextDeadline) from its steps and measures.

    Called, in the writing transaction, by every service that changes a step, a measure, the
    order or an appeal (orders.services), and by the flow when a step opens (OrderFlow.opened).
    """
    order = Order.objects.filter(pk=order_pk).first()
    if order is None:
        return
    moments = step_moments(Task.objects.filter(process_id=order_pk, flow_task_type="HUMAN"))
    upcoming = next_due(
        deadlines_of(
            order,
            open_steps=moments.open_steps,
            measures=list(order.measures.all()),
            has_appeal=order.appeals.exists(),
            planned_at=moments.planned_at,
            confirmed_at=moments.confirmed_at,
        )
    )
    NextDeadline.objects.update_or_create(
        order_id=order_pk,
        defaults={
            "due": upcoming.due if upcoming else None,
            "kind": upcoming.kind if upcoming else "",
            "issuing_authority_id": order.issuing_authority_id,
            "municipality_id": order.municipality_id,
            "health_personnel_id": order.health_personnel_id,
            "is_open": order.status == PROCESS.NEW,
            "order_deadline": order.deadline,
        },
    )


def refresh_missing() -> int:
    """Compute the next deadline of orders that have none yet (orders from before deadlines
    were kept, or a database restored from elsewhere)."""
    missing = list(Order.objects.filter(next_deadline__isnull=True).values_list("pk", flat=True))
    for order_pk in missing:
        refresh(order_pk)
    return len(missing)
