"""The order's lifecycle as a viewflow Flow: issue → plan measures → GP acknowledges →
municipality confirms completion → authority signs off (or sends back to confirmation).

Each step's form is a view of ours (orders.views.task_step) that calls a service; viewflow
owns which step is open, the locking and the process state. Withdrawal cancels the process.
What each step is (who takes it, its deadline, its titles) is orders.steps; who may take it is
orders.access.may_take_step, which the nodes' own checks ask too. When a step opens, the flow
tells everyone who may take it and recomputes the order's next deadline (``opened``).

Steps with a deadline carry three non-interrupting timers (fired by ``workflow_timers``, run
from ``manage.py run_deadlines``): a reminder some days before, an overdue notice when it has
passed, and after a grace period a follow-up task for the authority's caseworker. Timers are
re-armed when a deadline is extended (services.extend_deadline).
"""

from contextlib import contextmanager

from django.db import OperationalError
from viewflow import this
from viewflow.workflow import lock
from viewflow.workflow import nodes as flow
from viewflow.workflow.base import Flow
from viewflow.workflow.exceptions import FlowLockFailed

from . import access, deadlines, notifications, steps
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


class Step(flow.View):
    """A human step (a row of orders.steps). viewflow's checks of who may take or carry it out
    give the answer of orders.access.may_take_step, the rule our step page and services
    enforce, rather than viewflow's own (anyone, or a permission nobody reads)."""

    def __init__(self, step):
        super().__init__(None)
        self.step = step
        self.Annotation(title=step.title)

    def can_assign(self, user, task):
        # viewflow passes the base Process; coerce to the Order the rule reads.
        return task.owner_id is None and access.Capabilities.of(user).may_take_step(
            task.process.coerced, task
        )

    def can_execute(self, user, task):
        return access.Capabilities.of(user).may_take_step(task.process.coerced, task)


def _step(step):
    node = Step(step).onCreate(this.opened)
    if not step.deadline:
        return node
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

    # Steps with a deadline carry its timers (_step); the GP's step is theirs from the start.
    plan_measures = _step(steps.PLAN_MEASURES).Next(this.acknowledge)
    acknowledge = _step(steps.ACKNOWLEDGE).Assign(_gp_login).Next(this.confirm_completion)
    confirm_completion = _step(steps.CONFIRM_COMPLETION).Next(this.sign_off)
    sign_off = _step(steps.SIGN_OFF).Next(this.is_fulfilled)
    is_fulfilled = flow.If(this.last_review_fulfilled).Then(this.end).Else(this.confirm_completion)
    # A fulfilled order closes the case also if a follow-up of a late step is still open.
    end = flow.TerminateEnd()

    # What happens when a deadline approaches and passes, beside the late step.
    remind = flow.Function(this.send_reminder).Next(this.notice_sent)
    flag_overdue = flow.Function(this.send_overdue_notice).Next(this.notice_sent)
    consider_follow_up = flow.If(this.needs_follow_up).Then(this.follow_up).Else(this.notice_sent)
    follow_up = _step(steps.FOLLOW_UP).Next(this.followed_up)
    # Side branches end here; the case itself stays open (a plain End closes the process
    # only when no other task is active).
    notice_sent = flow.End()
    followed_up = flow.End()

    def fill_order(self, activation, **fields):
        for name, value in fields.items():
            setattr(activation.process, name, value)
        activation.process.full_clean(exclude=["flow_class", "status", "created"])
        return activation.process

    def opened(self, activation):
        """A step has opened (its task saved and linked to the one before): everyone who may
        take it is told, and the order's next deadline follows, in the same transaction."""
        notifications.notify_new_task(activation.task)
        deadlines.refresh(activation.process.pk)

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
    return deadlines.watched_step(activation.task)


def _due(activation):
    """The deadline of the step the timer is attached to."""
    host_name = activation.flow_task._attached_to.name
    return deadlines.step_deadline(activation.process.coerced, host_name)
