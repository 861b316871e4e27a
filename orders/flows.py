"""The order's lifecycle as a viewflow Flow: issue → plan measures → GP acknowledges →
municipality confirms completion → authority signs off (or sends back to confirmation).

Each step's form is a view of ours (orders.views.task_step) that calls a service; viewflow
owns which step is open, the locking and the process state. Withdrawal cancels the process.
"""

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import lock
from viewflow.workflow import nodes as flow
from viewflow.workflow.base import Flow

from municipalities.models import ACT_FOR_AUTHORITY, ACT_FOR_MUNICIPALITY

from .models import Order, Review


def _gp_login(activation):
    return activation.process.health_personnel.user


class OrderFlow(Flow):
    """Faglig pålegg"""

    process_class = Order
    # Two people deciding the same step at once must leave one decision: lock the process row.
    lock_impl = lock.select_for_update_lock

    issue = flow.StartHandle(this.fill_order).Next(this.plan_measures)

    # viewflow hands can_assign the base Process; .coerced gives the Order.
    plan_measures = (
        flow.View(None)
        .Annotation(title=_("Plan measures"))
        .Permission(ACT_FOR_MUNICIPALITY, obj=lambda process: process.coerced.municipality)
        .Next(this.acknowledge)
    )
    acknowledge = (
        flow.View(None)
        .Annotation(title=_("Acknowledge the plan"))
        .Assign(_gp_login)
        .Next(this.confirm_completion)
    )
    confirm_completion = (
        flow.View(None)
        .Annotation(title=_("Confirm completion"))
        .Permission(ACT_FOR_MUNICIPALITY, obj=lambda process: process.coerced.municipality)
        .Next(this.sign_off)
    )
    sign_off = (
        flow.View(None)
        .Annotation(title=_("Sign off"))
        .Permission(ACT_FOR_AUTHORITY, obj=lambda process: process.coerced.issuing_authority)
        .Next(this.is_fulfilled)
    )
    is_fulfilled = flow.If(this.last_review_fulfilled).Then(this.end).Else(this.confirm_completion)
    end = flow.End()

    def fill_order(self, activation, **fields):
        for name, value in fields.items():
            setattr(activation.process, name, value)
        activation.process.full_clean(exclude=["flow_class", "status", "created"])
        return activation.process

    def last_review_fulfilled(self, activation):
        return activation.process.reviews.latest().outcome == Review.Outcome.FULFILLED


# The steps each role takes, as plain data next to the flow; orders.access enforces it.
MUNICIPAL_STEPS = ("plan_measures", "confirm_completion")
PERSONNEL_STEPS = ("acknowledge",)
AUTHORITY_STEPS = ("sign_off",)
