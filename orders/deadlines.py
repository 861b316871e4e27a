"""The deadlines of an order, computed the Norwegian way, and the moments the workflow's timers
fire for them (reminder, overdue, escalation).

Every deadline is a date; it has passed when that day is over in Norway. A deadline that falls
on a Saturday, Sunday or public holiday moves to the next working day (municipalities.workdays).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from municipalities.workdays import add_days, deadline_after, next_working_day

# fvl. § 29: three weeks from the day the decision was received.
APPEAL_DAYS = 21


class Kind:
    PLANNING = "planning"
    TERMS = "terms"
    COMPLETION = "completion"
    APPEAL = "appeal"


LABELS = {
    Kind.PLANNING: _("Measures planned by the municipality"),
    Kind.TERMS: _("Course terms accepted"),
    Kind.COMPLETION: _("Order carried out"),
    Kind.APPEAL: _("Appeal period (klagefrist)"),
}


@dataclass(frozen=True)
class Deadline:
    kind: str
    due: date
    met: bool = False
    # What the deadline belongs to, when not the order itself (a course measure).
    measure_id: int | None = None
    # The appeal period is a right, not a duty: it is shown, never overdue.
    duty: bool = True

    @property
    def label(self):
        return LABELS[self.kind]

    def days_left(self, today=None) -> int:
        return (self.due - (today or timezone.localdate())).days

    @property
    def days_overdue(self) -> int:
        return -self.days_left()

    def is_overdue(self, today=None) -> bool:
        return self.duty and not self.met and self.days_left(today) < 0

    def is_due_soon(self, today=None, within=14) -> bool:
        return self.duty and not self.met and 0 <= self.days_left(today) <= within


def issued_on(order) -> date:
    return timezone.localdate(order.created)


def planning_deadline(order) -> date:
    """The municipality plans the measures within a configurable number of days of issuance."""
    return deadline_after(issued_on(order), settings.PLANNING_DAYS)


def completion_deadline(order) -> date:
    """The deadline set in the order (as extended), moved off a weekend or holiday."""
    return next_working_day(order.deadline)


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
    """The deadline a step of the flow works to (flows.DEADLINE_OF_STEP)."""
    from .flows import DEADLINE_OF_STEP

    kind = DEADLINE_OF_STEP[step_name]
    return planning_deadline(order) if kind == Kind.PLANNING else completion_deadline(order)


def deadlines_of(order, *, open_steps, measures, has_appeal=False) -> list[Deadline]:
    """Every deadline of the order, met or not. ``open_steps`` are the names of its open steps;
    ``measures`` its measures (the course ones carry the terms deadline)."""
    closed = order.status != "NEW"
    result = [
        Deadline(
            Kind.PLANNING,
            planning_deadline(order),
            met=closed or "plan_measures" not in open_steps,
        )
    ]
    for measure in measures:
        if measure.is_course and measure.enrolled_on is not None:
            result.append(
                Deadline(
                    Kind.TERMS,
                    measure.terms_deadline,
                    met=closed or measure.terms_accepted_at is not None,
                    measure_id=measure.pk,
                )
            )
    result.append(
        Deadline(
            Kind.COMPLETION,
            completion_deadline(order),
            met=closed or "sign_off" in open_steps,
        )
    )
    result.append(Deadline(Kind.APPEAL, appeal_deadline(order), met=has_appeal, duty=False))
    return result


def next_due(deadlines) -> Deadline | None:
    """The earliest deadline someone still has to meet (what lists sort and filter by)."""
    pending = [d for d in deadlines if d.duty and not d.met]
    return min(pending, key=lambda d: d.due) if pending else None


def refresh(order_pk) -> None:
    """Recompute the order's next deadline (models.NextDeadline) from its steps and measures."""
    from viewflow.workflow.models import Task

    from .models import NextDeadline, Order

    order = Order.objects.filter(pk=order_pk).first()
    if order is None:
        return
    open_steps = {
        task.flow_task.name
        for task in Task.objects.filter(
            process_id=order_pk, flow_task_type="HUMAN", status__in=["NEW", "ASSIGNED"]
        )
    }
    upcoming = next_due(
        deadlines_of(
            order,
            open_steps=open_steps,
            measures=list(order.measures.all()),
            has_appeal=order.appeals.exists(),
        )
    )
    NextDeadline.objects.update_or_create(
        order_id=order_pk,
        defaults={
            "due": upcoming.due if upcoming else None,
            "kind": upcoming.kind if upcoming else "",
        },
    )


def refresh_after_save(sender, instance, raw=False, **kwargs):
    """post_save of a step, a measure, the order or an appeal: the next deadline follows, in the
    same transaction. Timer and gateway tasks change no deadline, so only steps count."""
    if raw:
        return
    if sender._meta.model_name == "order":
        refresh(instance.pk)
    elif hasattr(instance, "flow_task_type"):
        if instance.flow_task_type == "HUMAN" and instance.process_id:
            refresh(instance.process_id)
    elif instance.order_id:
        refresh(instance.order_id)


def refresh_missing() -> int:
    """Compute the next deadline of orders that have none yet (orders from before deadlines
    were kept, or a database restored from elsewhere)."""
    from .models import Order

    missing = list(Order.objects.filter(next_deadline__isnull=True).values_list("pk", flat=True))
    for order_pk in missing:
        refresh(order_pk)
    return len(missing)
