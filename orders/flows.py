"""The order's lifecycle as a viewflow Flow: issue → plan measures → GP acknowledges →
municipality confirms completion → authority signs off (or sends back to confirmation).

Each step's form is a view of ours (orders.views.task_step) that calls a service; viewflow
owns which step is open, the locking and the process state. Withdrawal cancels the process.

Steps with a deadline carry three non-interrupting timers (fired by ``workflow_timers``, run
from ``manage.py run_deadlines``): a reminder some days before, an overdue notice when it has
passed, and after a grace period a follow-up task for the authority's caseworker. Timers are
re-armed when a deadline is extended (services.extend_deadline).
"""

from contextlib import contextmanager

from django.db import OperationalError
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import lock
from viewflow.workflow import nodes as flow
from viewflow.workflow.base import Flow
from viewflow.workflow.exceptions import FlowLockFailed

from municipalities.models import ACT_FOR_AUTHORITY, ACT_FOR_MUNICIPALITY

from . import deadlines, notifications
from .models import Order, Review


def database_is_locked(error) -> bool:
    """SQLite's answer when another connection held the write lock past the timeout."""
    return isinstance(error, OperationalError) and "locked" in str(error)


@contextmanager
def busy_as_lock_failure():
    """A write lock SQLite could not give in time is the same news as a case row someone
    else holds: FlowLockFailed, which the pages answer with "try again", not a 500."""
    try:
        yield
    except OperationalError as error:
        if not database_is_locked(error):
            raise
        raise FlowLockFailed("The database is locked by another writer") from error


class CaseLock(lock.SelectForUpdateLock):
    """viewflow's row lock (PostgreSQL), and SQLite's single writer's lock reported the same
    way when it is not had in time (settings.py makes SQLite take it when a transaction
    begins, so it is met here, at the start, and not halfway)."""

    @contextmanager
    def __call__(self, flow_class, process_pk):
        with busy_as_lock_failure(), super().__call__(flow_class, process_pk):
            yield


def _gp_login(activation):
    return activation.process.health_personnel.user


class OthersStep(flow.View):
    """A step taken for the municipality or the authority: viewflow's own permission check
    refuses it, like orders.access, to the person the order concerns (separation of duties),
    whatever they hold."""

    def can_assign(self, user, task):
        return not task.process.coerced.concerns(user) and super().can_assign(user, task)


def _with_deadline_timers(node):
    return (
        node.OnTimeout(this.reminder_moment, this.remind, interrupting=False)
        .OnTimeout(this.overdue_moment, this.flag_overdue, interrupting=False)
        .OnTimeout(this.escalation_moment, this.consider_follow_up, interrupting=False)
    )


class OrderFlow(Flow):
    """Faglig pålegg"""

    process_class = Order
    # Two people deciding the same step at once must leave one decision: lock the process row.
    lock_impl = CaseLock()

    issue = flow.StartHandle(this.fill_order).Next(this.plan_measures)

    # viewflow hands can_assign the base Process; .coerced gives the Order.
    plan_measures = _with_deadline_timers(
        OthersStep(None)
        .Annotation(title=_("Plan measures"))
        .Permission(ACT_FOR_MUNICIPALITY, obj=lambda process: process.coerced.municipality)
    ).Next(this.acknowledge)
    acknowledge = _with_deadline_timers(
        flow.View(None).Annotation(title=_("Acknowledge the plan")).Assign(_gp_login)
    ).Next(this.confirm_completion)
    confirm_completion = _with_deadline_timers(
        OthersStep(None)
        .Annotation(title=_("Confirm completion"))
        .Permission(ACT_FOR_MUNICIPALITY, obj=lambda process: process.coerced.municipality)
    ).Next(this.sign_off)
    sign_off = (
        OthersStep(None)
        .Annotation(title=_("Sign off"))
        .Permission(ACT_FOR_AUTHORITY, obj=lambda process: process.coerced.issuing_authority)
        .Next(this.is_fulfilled)
    )
    is_fulfilled = flow.If(this.last_review_fulfilled).Then(this.end).Else(this.confirm_completion)
    # A fulfilled order closes the case also if a follow-up of a late step is still open.
    end = flow.TerminateEnd()

    # What happens when a deadline approaches and passes, beside the late step.
    remind = flow.Function(this.send_reminder).Next(this.notice_sent)
    flag_overdue = flow.Function(this.send_overdue_notice).Next(this.notice_sent)
    consider_follow_up = flow.If(this.needs_follow_up).Then(this.follow_up).Else(this.notice_sent)
    follow_up = (
        OthersStep(None)
        .Annotation(title=_("Follow up a missed deadline"))
        .Permission(ACT_FOR_AUTHORITY, obj=lambda process: process.coerced.issuing_authority)
        .Next(this.followed_up)
    )
    # Side branches end here; the case itself stays open (a plain End closes the process
    # only when no other task is active).
    notice_sent = flow.End()
    followed_up = flow.End()

    def fill_order(self, activation, **fields):
        for name, value in fields.items():
            setattr(activation.process, name, value)
        activation.process.full_clean(exclude=["flow_class", "status", "created"])
        return activation.process

    def last_review_fulfilled(self, activation):
        return activation.process.reviews.latest().outcome == Review.Outcome.FULFILLED

    # The timers' moments, computed when the step opens (and again when a deadline moves).
    def reminder_moment(self, activation):
        return deadlines.reminder_at(_due(activation))

    def overdue_moment(self, activation):
        return deadlines.passes_at(_due(activation))

    def escalation_moment(self, activation):
        return deadlines.escalation_at(_due(activation))

    def send_reminder(self, activation):
        host = _host_task(activation)
        notifications.deadline_notice(host, notifications.Kind.REMINDER)

    def send_overdue_notice(self, activation):
        host = _host_task(activation)
        notifications.deadline_notice(host, notifications.Kind.OVERDUE)

    def needs_follow_up(self, activation):
        """Still late after the grace period, and no follow-up of it already open."""
        host = _host_task(activation)
        return (
            notifications.still_late(host)
            and not activation.process.task_set.filter(
                flow_task=OrderFlow.follow_up, status__in=["NEW", "ASSIGNED"]
            ).exists()
        )


def _host_task(activation):
    """The step a timer watches: the boundary's previous task, through any branch nodes."""
    task = activation.task.previous.get()
    while task.flow_task_type != "HUMAN":
        task = task.previous.get()
    return task


def _due(activation):
    """The deadline of the step the timer is attached to."""
    host_name = activation.flow_task._attached_to.name
    return deadlines.step_deadline(activation.process.coerced, host_name)


# The steps each role takes, as plain data next to the flow; orders.access enforces it.
MUNICIPAL_STEPS = ("plan_measures", "confirm_completion")
PERSONNEL_STEPS = ("acknowledge",)
AUTHORITY_STEPS = ("sign_off", "follow_up")
# Steps with a deadline, and which deadline (orders.deadlines.Kind).
DEADLINE_OF_STEP = {
    "plan_measures": "planning",
    "acknowledge": "completion",
    "confirm_completion": "completion",
}
