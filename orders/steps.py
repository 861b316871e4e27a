"""The human steps of an order, as plain data (like Signalen's workflow.py): for each step who
takes it, which deadline it works to, its titles, what a list says while the case waits on it,
and what those who may take it are told when it opens.

Everything that needs to know about a step reads it here: the flow (orders.flows: the order of
the steps and their titles), the access rule (orders.access.may_take_step), the notices, the
deadlines and the pages. tests/orders/test_steps.py fails when the flow, this table and the
step pages drift apart. This module imports no other part of the flow, so every one of them
can read it.
"""

import enum
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .deadline_kinds import Kind as DeadlineKind
from .models import Notification

# viewflow stores a step as "<app>/<module>.<Flow>.<node>" (get_task_ref); lists filter the task
# table by these strings, so the access module need not load the flow. The drift test checks
# them against OrderFlow.
FLOW_REF = "orders/flows.OrderFlow"


class Actor(enum.Enum):
    """Who takes a step. orders.access holds the rule for each (ACTOR_RULES), and the notices
    go to everyone it lets take the step."""

    # The municipality's leaders (kommunens ledelse), never the person the order concerns.
    MUNICIPALITY = "municipality"
    # The health personnel the order concerns, on their own case.
    PERSONNEL = "personnel"
    # The order's caseworker and its stand-ins (caseworkers of the issuing authority, and
    # anyone granted this one order), never the person the order concerns.
    AUTHORITY = "authority"


@dataclass(frozen=True)
class Step:
    name: str
    actor: Actor
    # The deadline the step works to (DeadlineKind), or "" for none; its timers (reminder,
    # overdue notice, follow-up) are armed from it.
    deadline: str
    # The task's title (on the task list, the step page, the timeline while it is open).
    title: str
    # The timeline's entry when it is done; None: the title says it (sign-off is told by its
    # outcome instead, orders.selectors).
    done_title: str | None
    # What a list says while the case waits on this step; None: it is not a stage of the case
    # (a follow-up runs beside the late step, which stays the stage).
    waiting: str | None
    # What those who may take it are told when it opens (a Notification.Kind).
    notice: str = Notification.Kind.NEW_TASK

    @property
    def task_ref(self) -> str:
        return f"{FLOW_REF}.{self.name}"


PLAN_MEASURES = Step(
    name="plan_measures",
    actor=Actor.MUNICIPALITY,
    deadline=DeadlineKind.PLANNING,
    title=_("Plan measures"),
    done_title=_("Measures planned and receipt acknowledged"),
    waiting=_("Awaiting the municipality's plan"),
)
ACKNOWLEDGE = Step(
    name="acknowledge",
    actor=Actor.PERSONNEL,
    deadline=DeadlineKind.COMPLETION,
    title=_("Acknowledge the plan"),
    done_title=_("Plan accepted by the health personnel"),
    waiting=_("Awaiting acknowledgement from the health personnel"),
)
CONFIRM_COMPLETION = Step(
    name="confirm_completion",
    actor=Actor.MUNICIPALITY,
    deadline=DeadlineKind.COMPLETION,
    title=_("Confirm completion"),
    done_title=_("Completion confirmed by the municipality"),
    waiting=_("Measures under way"),
)
SIGN_OFF = Step(
    name="sign_off",
    actor=Actor.AUTHORITY,
    deadline="",
    title=_("Sign off"),
    done_title=_("Reviewed by the authority"),
    waiting=_("Awaiting sign-off by the authority"),
)
FOLLOW_UP = Step(
    name="follow_up",
    actor=Actor.AUTHORITY,
    deadline="",
    title=_("Follow up a missed deadline"),
    done_title=None,
    waiting=None,
    # Opened by a late step's timer: the notice names the missed deadline.
    notice=Notification.Kind.ESCALATION,
)

STEPS = {
    step.name: step
    for step in (PLAN_MEASURES, ACKNOWLEDGE, CONFIRM_COMPLETION, SIGN_OFF, FOLLOW_UP)
}


def of(task) -> Step | None:
    """The step a viewflow task is, or None for a task that is no human step (a gate, a timer)."""
    return STEPS.get(task.flow_task.name) if task.flow_task is not None else None


# The case's way as the case page shows it (selectors.progress_of): the order issued, then
# the steps of the main line, each with who takes it. FOLLOW_UP runs beside a late step.
MAIN_LINE = (PLAN_MEASURES, ACKNOWLEDGE, CONFIRM_COMPLETION, SIGN_OFF)
ACTOR_NAMES = {
    Actor.MUNICIPALITY: _("the municipality"),
    Actor.PERSONNEL: _("the health personnel"),
    Actor.AUTHORITY: _("the authority"),
}
