"""Reads for pages, already scoped through orders.access. Related rows are fetched here,
once, so a page runs the same number of queries whatever the number of rows."""

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS

from audit import timeline
from courses.models import CourseMeeting, EvidenceDocument, Measure, SupervisionSession

from . import access
from .models import Appeal, Order

STAGE_LABELS = {
    "plan_measures": _("Awaiting the municipality's plan"),
    "acknowledge": _("Awaiting acknowledgement from the health personnel"),
    "confirm_completion": _("Measures under way"),
    "sign_off": _("Awaiting sign-off by the authority"),
    PROCESS.DONE: _("Fulfilled – closed"),
    PROCESS.CANCELED: _("Withdrawn – closed"),
}

STAGE_FILTERS = {
    "open": Q(status=PROCESS.NEW),
    "closed": ~Q(status=PROCESS.NEW),
    "appeal": Q(under_appeal=True),
}


def _with_state(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate the open step (from viewflow's task table) and whether an appeal is pending."""
    open_step = (
        Task.objects.filter(
            process=OuterRef("pk"),
            flow_task_type="HUMAN",
            status__in=access.OPEN_TASK_STATUSES,
        )
        .order_by("-created")
        .values("flow_task")[:1]
    )
    pending_appeal = Appeal.objects.filter(order=OuterRef("pk"), outcome=Appeal.Outcome.PENDING)
    return queryset.annotate(
        open_step_ref=Subquery(open_step, output_field=CharField()),
        under_appeal=Exists(pending_appeal),
    ).select_related("health_personnel", "municipality", "issuing_authority")


def stage_of(order) -> str:
    """The order's stage as the user reads it."""
    if order.status != PROCESS.NEW:
        # A fulfilled order later reversed on appeal is withdrawn in law, though its flow ended.
        return STAGE_LABELS[PROCESS.CANCELED if order.withdrawal_reason else order.status]
    ref = getattr(order, "open_step_ref", None) or ""
    return STAGE_LABELS.get(ref.rsplit(".", 1)[-1], _("In progress"))


def orders_for_list(user, *, state="", search="") -> QuerySet[Order]:
    """The case list: orders the user may see, soonest deadline first."""
    orders = _with_state(access.orders_visible_to(user))
    if state in STAGE_FILTERS:
        orders = orders.filter(STAGE_FILTERS[state])
    if search := search.strip():
        orders = orders.filter(
            Q(case_number__icontains=search)
            | Q(health_personnel__name__icontains=search)
            | Q(health_personnel__hpr_number=search)
            | Q(municipality__name__icontains=search)
        )
    return orders.order_by("deadline", "pk")


def tasks_for(user) -> QuerySet[Task]:
    """Mine oppgaver: open steps this user may take, soonest order deadline first."""
    return (
        access.actionable_tasks_for(user)
        .select_related(
            "process__order__health_personnel",
            "process__order__municipality",
            "process__order__issuing_authority",
        )
        .order_by("process__order__deadline", "created")
    )


def order_for(user, pk) -> Order:
    """One order the user may see, or 404 — the same answer for "missing" and "not yours"."""
    return get_object_or_404(_with_state(access.orders_visible_to(user)), pk=pk)


def step_task_for(order, task_pk) -> Task:
    """A step of this order (open or taken), or 404 if it belongs to no step of this order."""
    return get_object_or_404(
        Task.objects.select_related("process"),
        pk=task_pk,
        process_id=order.pk,
        flow_task_type="HUMAN",
    )


def open_tasks_of(order) -> list[Task]:
    return list(
        Task.objects.filter(
            process_id=order.pk, flow_task_type="HUMAN", status__in=access.OPEN_TASK_STATUSES
        ).order_by("created")
    )


def document_for(order, pk) -> EvidenceDocument:
    return get_object_or_404(EvidenceDocument, pk=pk, order=order)


def with_progress(measures):
    """Set progress (done, required) and completeness on measures whose meetings and sessions
    are prefetched, so a list of measures costs no query per row."""
    for m in measures:
        m.progress_done, m.progress_required = m.progress(
            meetings=list(m.meetings.all()), sessions=list(m.sessions.all())
        )
        m.complete = m.is_complete
    return measures


def measures_in(orders):
    """Measures of ``orders`` (a queryset), ready for with_progress."""
    return (
        Measure.objects.filter(order__in=orders)
        .select_related("course", "supervisor", "order__health_personnel")
        .prefetch_related("meetings", "sessions")
        .order_by("planned_completion", "pk")
    )


def measures_of(order) -> list:
    return with_progress(
        list(
            order.measures.select_related("course", "supervisor").prefetch_related(
                "meetings", "sessions"
            )
        )
    )


def case_page_data(order) -> dict:
    """Everything the case page shows besides the timeline, in a fixed number of queries."""
    return {
        "measures": measures_of(order),
        "documents": list(order.documents.select_related("uploaded_by")),
        "confirmations": list(
            order.confirmations.select_related("confirmed_by").prefetch_related("documents")
        ),
        "reviews": list(order.reviews.select_related("decided_by")),
        "extensions": list(order.extensions.select_related("extended_by")),
        "appeals": list(order.appeals.all()),
    }


TASK_DONE_TITLES = {
    "plan_measures": _("Measures planned and receipt acknowledged"),
    "acknowledge": _("Plan accepted by the health personnel"),
    "confirm_completion": _("Completion confirmed by the municipality"),
    "sign_off": _("Reviewed by the authority"),
}


def _task_entries(order) -> list[timeline.Entry]:
    tasks = Task.objects.filter(
        process_id=order.pk, flow_task_type__in=["HUMAN", "END"], finished__isnull=False
    ).select_related("owner")
    entries, last_actor = [], None
    for task in sorted(tasks, key=lambda t: (t.finished, t.pk)):
        name = task.flow_task.name
        who = task.owner
        if task.flow_task_type == "END":
            # The engine closes the case; the person is whoever took the deciding step.
            title, who = _("Case closed: the order is fulfilled"), last_actor
        elif task.status == "CANCELED":
            title = _("Step cancelled: %(step)s") % {"step": task.flow_task.task_title}
        else:
            title = TASK_DONE_TITLES.get(name, task.flow_task.task_title)
        last_actor = who or last_actor
        entries.append(timeline.Entry(task.finished, who, "workflow", str(title)))
    return entries


def timeline_for(order, *, kinds=()) -> list[timeline.Entry]:
    """The case's history, newest first, in a fixed number of queries."""
    from .models import CompletionConfirmation, DeadlineExtension, Review

    sources = {
        "order": lambda: timeline.history_entries(
            Order.history.filter(process_ptr_id=order.pk),
            kind="order",
            created=_("Order registered"),
            changed=_("Order changed"),
            fields=[
                "case_number",
                "caseworker",
                "municipality",
                "decision_date",
                "grounds_summary",
                "requires_course",
                "requires_supervision",
                "requirements",
                "deadline",
                "withdrawal_reason",
            ],
        ),
        "workflow": lambda: _task_entries(order),
        "measure": lambda: (
            timeline.history_entries(
                Measure.history.filter(order_id=order.pk),
                kind="measure",
                created=_("Measure added"),
                changed=_("Measure changed"),
                fields=[
                    "kind",
                    "course",
                    "supervisor_name",
                    "planned_completion",
                    "enrolled_on",
                    "group_name",
                    "terms_accepted_at",
                    "completed_on",
                    "agreed_sessions",
                    "period_end",
                    "report_submitted_at",
                    "status",
                    "incomplete_reason",
                ],
                text="description",
            )
            + timeline.history_entries(
                CourseMeeting.history.filter(measure__order_id=order.pk),
                kind="measure",
                created=_("Course meeting scheduled"),
                changed=_("Course meeting changed"),
                fields=["date", "attendance", "absence_reason"],
            )
            + timeline.history_entries(
                SupervisionSession.history.filter(measure__order_id=order.pk),
                kind="measure",
                created=_("Supervision session recorded"),
                changed=_("Supervision session changed"),
                fields=["date", "duration_minutes", "topic", "status"],
                text="topic",
            )
        ),
        "document": lambda: timeline.history_entries(
            EvidenceDocument.history.filter(order_id=order.pk),
            kind="document",
            created=_("Document added"),
            changed=_("Document changed"),
            fields=["kind", "original_name"],
            text="original_name",
        ),
        "decision": lambda: (
            timeline.history_entries(
                CompletionConfirmation.history.filter(order_id=order.pk),
                kind="decision",
                created=_("Completion confirmed"),
                changed=_("Completion confirmation changed"),
                fields=["note"],
                text="note",
            )
            + timeline.history_entries(
                Review.history.filter(order_id=order.pk),
                kind="decision",
                created=_("Sign-off decision"),
                changed=_("Sign-off decision changed"),
                fields=["outcome", "reason"],
                text="reason",
            )
            + timeline.history_entries(
                DeadlineExtension.history.filter(order_id=order.pk),
                kind="decision",
                created=_("Deadline extended"),
                changed=_("Deadline extension changed"),
                fields=["new_deadline", "reason"],
                text="reason",
            )
            + timeline.history_entries(
                Appeal.history.filter(order_id=order.pk),
                kind="decision",
                created=_("Appeal received"),
                changed=_("Appeal decided"),
                fields=["outcome", "decided_by", "decided_on", "decision_note"],
                text="note",
            )
        ),
    }
    chosen = [name for name in sources if not kinds or name in kinds]
    return timeline.merge(*(sources[name]() for name in chosen))
