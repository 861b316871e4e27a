"""Reads for pages, already scoped through the request's orders.access.Capabilities (passed
in as ``capabilities``). Related rows are fetched here, once, so a page runs the same number of
queries whatever the number of rows."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS

from audit import actions as audit_actions
from audit import timeline
from audit.models import AccessEvent
from config import together
from courses.models import Course, CourseMeeting, EvidenceDocument, Measure, SupervisionSession
from municipalities.models import HealthPersonnel, Municipality, User

from . import access, deadlines, steps
from .deadline_kinds import ACTING
from .deadline_kinds import Kind as DeadlineKind
from .models import (
    Appeal,
    CompletionConfirmation,
    DeadlineExtension,
    NextDeadline,
    Notification,
    Order,
    Review,
    SupervisionGrant,
)

# What a list says of a case: the waiting label of its open step (orders.steps), or how it ended.
STAGE_LABELS = {
    **{step.name: step.waiting for step in steps.STEPS.values() if step.waiting},
    PROCESS.DONE: _("Fulfilled – closed"),
    PROCESS.CANCELED: _("Withdrawn – closed"),
}

SENT_BACK = _("Sent back by the authority – the municipality confirms again")

STAGE_FILTERS = {
    "open": Q(status=PROCESS.NEW),
    "closed": ~Q(status=PROCESS.NEW),
    "appeal": Q(under_appeal=True),
}
# The same stages on the orders' next deadlines (NextDeadline.is_open), where they can be told.
STAGE_FILTERS_ON_DEADLINES = {"open": Q(is_open=True), "closed": Q(is_open=False)}


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
    sent_back = Review.objects.filter(order=OuterRef("pk"), outcome=Review.Outcome.RETURNED)
    return queryset.annotate(
        open_step_ref=Subquery(open_step, output_field=CharField()),
        under_appeal=Exists(pending_appeal),
        sent_back=Exists(sent_back),
    ).select_related("health_personnel", "municipality", "issuing_authority")


def stage_of(order) -> str:
    """The order's stage as the user reads it."""
    if order.status != PROCESS.NEW:
        # A fulfilled order later reversed on appeal is withdrawn in law, though its flow ended.
        return STAGE_LABELS[PROCESS.CANCELED if order.withdrawal_reason else order.status]
    ref = getattr(order, "open_step_ref", None) or ""
    step = ref.rsplit(".", 1)[-1]
    if step == steps.CONFIRM_COMPLETION.name and getattr(order, "sent_back", False):
        # The authority did not sign it off: the municipality confirms again, and the list
        # says so rather than "measures under way" like any other case.
        return SENT_BACK
    return STAGE_LABELS.get(step, _("In progress"))


# Lists flag what is "due soon" this many days ahead (the deadline overview counts the same).
DUE_SOON_DAYS = 14


def due_filter(due, today, prefix="") -> Q | None:
    """Orders whose next deadline is overdue (its day is over) or falls within DUE_SOON_DAYS
    from today (today included); None for no filter. Only open orders have one."""
    return _due_q(due, today, f"{prefix}next_deadline__due")


def _due_q(due, today, field) -> Q | None:
    if due == "overdue":
        return Q(**{f"{field}__lt": today})
    if due == "soon":
        return Q(**{f"{field}__range": (today, today + timedelta(days=DUE_SOON_DAYS))})
    return None


class KeyFirst:
    """A sorted list for a Paginator whose page is picked on the sort key alone: ``keys``
    counts the list and gives a page's ids in order (the ids of a query that sorts only the
    key columns, a top-N sort in memory), and the page's rows with everything they show are
    fetched by those ids from ``rows``, in the same order. Sorting the whole rows instead made
    PostgreSQL spill every visible order to disk at 100,000 orders. ``rows`` must be ordered
    as the keys are."""

    ordered = True

    def __init__(self, rows, keys=None):
        self.rows = rows
        self.keys = QueryKeys(rows) if keys is None else keys

    def count(self) -> int:
        return self.keys.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        return list(self.rows.filter(pk__in=self.keys.ids(index)))


class QueryKeys:
    """KeyFirst's keys from a queryset sorted as the list: its ``key`` column, sliced, as a
    subquery (so a page is one query); the queryset may be another table with one row per
    row of the list (the orders' next deadlines, case_list)."""

    def __init__(self, queryset, key="pk"):
        self.queryset = queryset
        self.key = key

    def count(self) -> int:
        return self.queryset.count()

    def ids(self, index: slice):
        return self.queryset.values(self.key)[index]


class TaskKeys:
    """KeyFirst's keys of a task list (task_list): each branch of the user's actionable tasks
    (Capabilities.actionable_branches: steps, and their orders' next deadlines) joined to the
    open tasks of those steps on the task's process id, overdue orders first, then by the
    next deadline, then the order's own deadline, then the oldest step. A join from the next deadlines (their index sorted
    by date) lets PostgreSQL stop after the page; the ORM can only reach them from a task
    through viewflow's process and the order, which made it read every open step of the
    actor's steps (40–60 ms for a caseworker or a leader at 100,000 orders). Two queries (the
    count, the page's ids), both composed here from the ORM's SQL for the branches."""

    def __init__(self, branches, due="", today=None):
        self.branches = branches
        self.due_q = _due_q(due, today or timezone.localdate(), "due")

    def _union(self) -> tuple[str, list]:
        task = Task._meta.db_table
        parts, params = [], []
        for refs, open_orders in self.branches:
            if self.due_q is not None:
                open_orders = open_orders.filter(self.due_q)
            columns = open_orders.values("order_id", "due", "order_deadline")
            sql, branch_params = columns.query.sql_with_params()
            parts.append(
                f"SELECT d.due, d.order_deadline, t.created, t.id FROM ({sql}) d"
                f" JOIN {task} t ON t.process_id = d.order_id"
                f" WHERE t.flow_task IN ({', '.join(['%s'] * len(refs))})"
                f" AND t.status IN ({', '.join(['%s'] * len(access.OPEN_TASK_STATUSES))})"
                " AND t.flow_task_type = %s"
            )
            params += [*branch_params, *refs, *access.OPEN_TASK_STATUSES, "HUMAN"]
        return " UNION ALL ".join(parts), params

    def _fetch(self, sql, params) -> list:
        if not self.branches:
            return []
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def count(self) -> int:
        union, params = self._union()
        rows = self._fetch(f"SELECT COUNT(*) FROM ({union}) k", params)
        return rows[0][0] if rows else 0

    def ids(self, index: slice) -> list[int]:
        start = index.start or 0
        union, params = self._union()
        # Materialised: all of the user's tasks, then the page. Left to plan the join under
        # the LIMIT, PostgreSQL walks the next deadlines in date order and looks for a task at
        # each, expecting the tasks spread over the dates; a caseworker's are all on orders
        # with no date (no one else has a deadline while the authority acts), so it walked
        # every open order of the authority (70 ms at 100,000).
        sql = (
            f"WITH k AS MATERIALIZED ({union})"
            " SELECT k.id FROM k ORDER BY k.due ASC NULLS LAST, k.order_deadline, k.created, k.id"
            " LIMIT %s OFFSET %s"
        )
        return [pk for (pk,) in self._fetch(sql, [*params, index.stop - start, start])]


def orders_for_list(capabilities, *, state="", search="", due="", today=None) -> QuerySet[Order]:
    """The case list: orders the user may see, overdue first, then by their next deadline
    (orders without one, i.e. closed ones, last)."""
    orders = _with_state(capabilities.orders_visible()).select_related("next_deadline")
    if state in STAGE_FILTERS:
        orders = orders.filter(STAGE_FILTERS[state])
    if (by_due := due_filter(due, today or timezone.localdate())) is not None:
        orders = orders.filter(by_due)
    if search := search.strip():
        orders = orders.filter(
            Q(case_number__icontains=search)
            | Q(health_personnel__name__icontains=search)
            | Q(health_personnel__hpr_number=search)
            | Q(municipality__name__icontains=search)
        )
    # Ascending dates put the overdue ones (in the past) first, the most overdue at the top.
    # The same order as on the next deadlines (case_list).
    return orders.order_by(F("next_deadline__due").asc(nulls_last=True), "deadline", "pk")


@dataclass(frozen=True)
class ProgressStep:
    """One of the case's five steps on the case page: done, the current one, or to come."""

    title: str
    who: str
    state: str  # "done", "current" or "later"


def progress_of(order) -> list[ProgressStep]:
    """Where the case is on its way: the order issued, then the main line's steps
    (steps.MAIN_LINE), from its open step (``order`` annotated by _with_state). A fulfilled
    order has taken them all; a withdrawn one stops where it was."""
    ref = getattr(order, "open_step_ref", None) or ""
    names = [step.name for step in steps.MAIN_LINE]
    open_step = ref.rsplit(".", 1)[-1]
    if order.status == PROCESS.DONE and not order.withdrawal_reason:
        reached = len(names) + 1  # every step done
    elif open_step in names:
        reached = names.index(open_step) + 1  # the issued order, and the steps before it
    else:
        reached = 1
    line = [(_("Order issued"), steps.ACTOR_NAMES[steps.Actor.AUTHORITY])]
    line += [(step.title, steps.ACTOR_NAMES[step.actor]) for step in steps.MAIN_LINE]
    current = reached if order.status == PROCESS.NEW else None
    return [
        ProgressStep(
            str(title),
            str(who),
            "done" if index < reached else "current" if index == current else "later",
        )
        for index, (title, who) in enumerate(line)
    ]


OWN_CASES_SHOWN = 10


def own_cases(capabilities) -> list[Order]:
    """The orders about the user themself (their landing page), open ones first: none for
    anyone who is no health personnel, without a query."""
    if not capabilities.personnel_ids or not capabilities.active:
        return []
    orders = orders_for_list(capabilities).filter(pk__in=capabilities.orders_concerning())
    return list(orders[:OWN_CASES_SHOWN])


# The case list's sortable columns: the orders' sort for each, ascending (the list's own
# order, by next deadline, is "deadline"); "-key" sorts the other way. The case number sorts
# as text. Every sort ends on the order's id, so pages never overlap.
CASE_SORTS = {
    "case": ("case_number",),
    "person": ("health_personnel__name",),
    "municipality": ("municipality__name",),
    "deadline": ("next_deadline__due", "deadline"),
    "completion": ("deadline",),
}


def _sorted_orders(orders, sort):
    key, descending = sort.lstrip("-"), sort.startswith("-")
    fields = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in CASE_SORTS[key]
    ]
    return orders.order_by(*fields, "-pk" if descending else "pk")


def case_list(capabilities, *, state="", search="", due="", today=None, sort="") -> KeyFirst:
    """orders_for_list as a paged list. Without a search or an appeal filter it is counted
    and its page picked from the orders' next deadlines (models.NextDeadline), one per order,
    with the same access filter and the same deadline and open or closed filters and sorted
    the same way: PostgreSQL reads those from their indexes, where joining every visible
    order to its process and deadline took 50–100 ms at 100,000 orders."""
    today = today or timezone.localdate()
    orders = orders_for_list(capabilities, state=state, search=search, due=due, today=today)
    if sort.lstrip("-") in CASE_SORTS and sort != "deadline":
        # Another column than the next deadline: the orders themselves are sorted.
        return KeyFirst(_sorted_orders(orders, sort))
    if search.strip() or (state in STAGE_FILTERS and state not in STAGE_FILTERS_ON_DEADLINES):
        return KeyFirst(orders)
    keyed = NextDeadline.objects.all()
    if not capabilities.active:
        keyed = keyed.none()
    elif (visible := capabilities.visible_orders_q()) is not None:
        keyed = keyed.filter(visible)
    if state in STAGE_FILTERS_ON_DEADLINES:
        keyed = keyed.filter(STAGE_FILTERS_ON_DEADLINES[state])
    if (by_due := _due_q(due, today, "due")) is not None:
        keyed = keyed.filter(by_due)
    keyed = keyed.order_by(F("due").asc(nulls_last=True), "order_deadline", "order_id")
    return KeyFirst(orders, QueryKeys(keyed, "order_id"))


def _task_rows(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Tasks with what a task list shows of their order, in the list's order (TaskKeys)."""
    return tasks.select_related(
        "process__order__health_personnel",
        "process__order__municipality",
        "process__order__issuing_authority",
        "process__order__next_deadline",
    ).order_by(
        F("process__order__next_deadline__due").asc(nulls_last=True),
        "process__order__deadline",
        "created",
        "pk",
    )


def tasks_for(capabilities, *, due="", today=None) -> QuerySet[Task]:
    """Mine oppgaver as one queryset: open steps this user may take, overdue orders first,
    then by the order's next deadline and its own, then the oldest step (the page lists
    task_list)."""
    tasks = capabilities.actionable_tasks()
    if (by_due := due_filter(due, today or timezone.localdate(), "process__order__")) is not None:
        tasks = tasks.filter(by_due)
    return _task_rows(tasks)


def task_list(capabilities, *, due="", today=None) -> KeyFirst:
    """Mine oppgaver as a paged list: the page's tasks are counted and picked on the sort key
    alone (TaskKeys), and only they are joined to what the list shows of their orders."""
    keys = TaskKeys(capabilities.actionable_branches(), due=due, today=today)
    return KeyFirst(_task_rows(Task.objects.all()), keys)


# A notice as the list names it: what happened, the task, the case.
NOTICE_TITLES = {
    Notification.Kind.NEW_TASK: _("New task: %(task)s – case %(case)s"),
    Notification.Kind.REMINDER: _("Deadline approaching: %(task)s – case %(case)s"),
    Notification.Kind.OVERDUE: _("Deadline passed: %(task)s – case %(case)s"),
    Notification.Kind.ESCALATION: _("Missed deadline to follow up: %(task)s – case %(case)s"),
}
# The task of a notice about the course terms, which are no step of the flow.
TERMS_TASK = _("Accept the course terms")


def notice_title(notice) -> str:
    """«Ny oppgave: planlegg tiltak – sak 2026/1004». ``notice.order`` should be selected
    with it. A notice from before notices kept their step says its kind and case."""
    if notice.step in steps.STEPS:
        task = str(steps.STEPS[notice.step].title)
    elif notice.deadline_kind == DeadlineKind.TERMS:
        task = str(TERMS_TASK)
    else:
        return f"{notice.get_kind_display()} – {notice.order.case_number}"
    task = task[:1].lower() + task[1:]
    return NOTICE_TITLES[notice.kind] % {"task": task, "case": notice.order.case_number}


@dataclass(frozen=True)
class NextDue:
    """An order's next deadline as a list shows it: the date, what is due, days left."""

    due: date
    kind: str
    days_left: int

    @property
    def label(self):
        """Who must do what by this date."""
        return ACTING.get(self.kind, "")

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left

    @property
    def due_soon(self) -> bool:
        return 0 <= self.days_left <= DUE_SOON_DAYS


def next_due_of(order, today) -> NextDue | None:
    """From the NextDeadline the list selected with the order (no query)."""
    try:
        row = order.next_deadline
    except NextDeadline.DoesNotExist:
        return None
    if row.due is None:
        return None
    return NextDue(row.due, row.kind, (row.due - today).days)


def deadline_counts(
    orders: QuerySet, today, *, is_open=STAGE_FILTERS["open"], due="next_deadline__due"
) -> dict:
    """All of ``orders``, the open ones, those due within DUE_SOON_DAYS and those overdue:
    one aggregate query. Also counts the orders' next deadlines (``is_open`` and ``due`` as
    named there)."""
    return orders.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=is_open),
        due_soon=Count("pk", filter=is_open & _due_q("soon", today, due)),
        overdue=Count("pk", filter=is_open & _due_q("overdue", today, due)),
    )


@dataclass(frozen=True)
class OrganisationCounts:
    kind: str  # "authority" or "municipality"
    organisation: object
    counts: dict


def deadline_overview(capabilities, today) -> list[OrganisationCounts]:
    """One row per organisation the user acts for: each authority they are caseworker for
    (the orders it issued) and each municipality they lead (the orders concerning it).

    Need to know holds without a filter of its own: a caseworker sees every order their
    authority issued, and a leader every order concerning their municipality (access.
    full_case_q). So the rows are counted from the next deadlines, which every order has and
    which carry its organisations (models.NextDeadline), each from one index."""
    rows = [
        OrganisationCounts("authority", a, _tally(Q(issuing_authority=a), today))
        for a in capabilities.caseworker_authorities().order_by("name")
    ]
    rows += [
        OrganisationCounts("municipality", m, _tally(Q(municipality=m), today))
        for m in capabilities.led_municipalities().order_by("name")
    ]
    return rows


def _tally(organisation: Q, today) -> dict:
    """deadline_counts for the orders of one organisation, from their next deadlines."""
    rows = NextDeadline.objects.filter(organisation)
    return deadline_counts(rows, today, is_open=STAGE_FILTERS_ON_DEADLINES["open"], due="due")


def order_for(capabilities, pk) -> Order:
    """One order the user may see, or 404 — the same answer for "missing" and "not yours"."""
    # The caseworker too: the case page names them.
    orders = _with_state(capabilities.orders_visible()).select_related("caseworker")
    return get_object_or_404(orders, pk=pk)


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


def document_for(capabilities, order, pk) -> EvidenceDocument:
    """A document of this order that ``user`` may download, or 404: any of the case's for
    those who see the whole case; for a supervisor, only those of the measures they
    supervise (not the confirmation's, not another measure's)."""
    documents = EvidenceDocument.objects.filter(order=order)
    if not capabilities.may_see_full_case(order):
        documents = documents.filter(measure__in=capabilities.supervised_measures_of(order))
    return get_object_or_404(documents, pk=pk)


def measures_shown_to(capabilities, order) -> QuerySet[Measure]:
    """The measures of ``order`` whose pages ``user`` may open: all of them, or for a
    supervisor their own."""
    if capabilities.may_see_full_case(order):
        return order.measures.all()
    return capabilities.supervised_measures_of(order)


def own_measures_for(capabilities) -> QuerySet[Measure]:
    """Mine kurs og veiledning: the measures of orders about the user (by their own health
    personnel records, which the lookup's index serves)."""
    return measures_in(capabilities.orders_concerning())


def supervised_measures_for(capabilities) -> QuerySet[Measure]:
    """Mine kurs og veiledning: the measures the user supervises now (an active grant)."""
    orders = Order.objects.filter(pk__in=capabilities.supervised_order_ids())
    return measures_in(orders).filter(pk__in=capabilities.supervised_measure_ids())


def supervised_case_data(capabilities, order) -> dict:
    """What a supervisor's case page shows besides the order's facts: their own measures."""
    return {
        "measures": with_progress(
            list(
                capabilities.supervised_measures_of(order)
                .select_related("course", "supervisor")
                .prefetch_related("meetings", "sessions")
            )
        )
    }


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


@dataclass
class CaseRows:
    """The rows of one case that its page shows, fetched together (case_rows): its workflow
    tasks (human and end), measures with their course, supervisor, meetings and sessions,
    documents, decisions, and the history rows of the timeline's chosen sources."""

    tasks: list
    measures: list
    documents: list
    confirmations: list
    reviews: list
    extensions: list
    appeals: list
    history: dict

    @property
    def human_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.flow_task_type == "HUMAN"]

    @property
    def open_tasks(self) -> list[Task]:
        return sorted(
            (t for t in self.human_tasks if t.status in access.OPEN_TASK_STATUSES),
            key=lambda t: (t.created, t.pk),
        )

    def page_data(self) -> dict:
        """What case_page_data gives, from these rows."""
        return {
            "measures": with_progress(self.measures),
            "documents": self.documents,
            "confirmations": self.confirmations,
            "reviews": self.reviews,
            "extensions": self.extensions,
            "appeals": self.appeals,
        }


def case_rows(order, *, kinds=None) -> CaseRows:
    """Every row the case page shows, and the people they name, in one query whatever the case
    holds (config.together: one UNION ALL, compiled once per set of timeline sources)."""
    history = [s for s in TIMELINE_SOURCES if isinstance(s, timeline.HistorySource)]
    history = [s for s in history if s.kind in (kinds or HISTORY_KINDS)]
    rows = together.fetch_compiled(
        ("case_rows", *(TIMELINE_SOURCES.index(s) for s in history)),
        lambda pk: _case_querysets(pk, history),
        order.pk,
    )
    users = {user.pk: user for user in rows["people"]}
    for key, name in _naming(history):
        together.attach(rows[key], name, users)
    together.attach(rows["measures"], "course", {c.pk: c for c in rows["courses"]})
    together.attach(rows["measures"], "supervisor", {p.pk: p for p in rows["supervisors"]})
    together.attach_many(rows["measures"], "meetings", _grouped(rows["meetings"], "measure_id"))
    together.attach_many(rows["measures"], "sessions", _grouped(rows["sessions"], "measure_id"))
    linked = {d.pk: d for d in rows["linked"]}
    documents_of = {}
    for link in rows["links"]:
        documents_of.setdefault(link.completionconfirmation_id, []).append(
            linked[link.evidencedocument_id]
        )
    together.attach_many(rows["confirmations"], "documents", documents_of)
    return CaseRows(
        tasks=rows["tasks"],
        measures=rows["measures"],
        documents=rows["documents"],
        confirmations=rows["confirmations"],
        reviews=rows["reviews"],
        extensions=rows["extensions"],
        appeals=rows["appeals"],
        history={source: rows[f"history{i}"] for i, source in enumerate(history)},
    )


def _case_querysets(pk, history) -> dict:
    """The querysets of case_rows for the case ``pk``: its rows, and the people they name."""
    measures = Measure.objects.filter(order_id=pk)
    links = CompletionConfirmation.documents.through.objects.filter(
        completionconfirmation__order_id=pk
    )
    querysets = {
        "tasks": Task.objects.filter(process_id=pk, flow_task_type__in=["HUMAN", "END"]).order_by(
            "created", "pk"
        ),
        "measures": measures,
        "courses": Course.objects.filter(pk__in=measures.values("course_id")),
        "supervisors": HealthPersonnel.objects.filter(pk__in=measures.values("supervisor_id")),
        "meetings": CourseMeeting.objects.filter(measure__order_id=pk),
        "sessions": SupervisionSession.objects.filter(measure__order_id=pk),
        "documents": EvidenceDocument.objects.filter(order_id=pk),
        "confirmations": CompletionConfirmation.objects.filter(order_id=pk),
        "links": links,
        "linked": EvidenceDocument.objects.filter(pk__in=links.values("evidencedocument_id")),
        "reviews": Review.objects.filter(order_id=pk),
        "extensions": DeadlineExtension.objects.filter(order_id=pk),
        "appeals": Appeal.objects.filter(order_id=pk),
        **{f"history{i}": source.queryset(_Case(pk)) for i, source in enumerate(history)},
    }
    # One IN over a UNION ALL of the ids, not an OR of INs: PostgreSQL runs an OR of IN
    # (subquery) as a filter over every user (5 ms at 20,000 users), the union as a few index
    # look-ups.
    first, *others = (
        querysets[key].order_by().values_list(f"{name}_id", flat=True)
        for key, name in _naming(history)
    )
    people = User.objects.filter(pk__in=first.union(*others, all=True))
    return {**querysets, "people": people}


def _naming(history) -> list[tuple[str, str]]:
    """The rows of case_rows that name people, by the foreign key that names them: those
    people come along in the same query."""
    return [
        ("tasks", "owner"),
        ("documents", "uploaded_by"),
        ("confirmations", "confirmed_by"),
        ("reviews", "decided_by"),
        ("extensions", "extended_by"),
        *((f"history{i}", "history_user") for i in range(len(history))),
    ]


@dataclass(frozen=True)
class _Case:
    """A case by its id alone, for the history sources' querysets."""

    pk: int


def _grouped(rows, key) -> dict:
    grouped = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


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


SIGN_OFF_TITLES = {
    Review.Outcome.FULFILLED: _("Signed off: the order is fulfilled"),
    Review.Outcome.RETURNED: _("Sent back to the municipality"),
}


def _review_of(task, reviews):
    """The Review a sign-off task recorded: it is saved between the task's start and finish,
    in the same transaction (services.sign_off)."""
    begun = task.started or task.created
    for review in reviews:
        if begun <= review.decided_at <= task.finished:
            return review
    return None


def _taken_entry(task, step):
    """Who took the step. A step the flow assigns on creation (the GP's acknowledgement) is
    theirs from then; the others are taken from a shared queue when someone starts them.
    viewflow leaves ``assigned`` empty, so ``started`` is when it was taken."""
    if task.status == "CANCELED" or task.owner is None:
        # Withdrawal overwrites the owner with whoever cancelled (services._withdraw).
        return None
    if getattr(task.flow_task, "_owner", None):
        title = _("Step assigned: %(step)s") % {"step": step}
        return timeline.Entry(task.created, task.owner, "workflow", str(title))
    if when := task.assigned or task.started:
        title = _("Step taken: %(step)s") % {"step": step}
        return timeline.Entry(when, task.owner, "workflow", str(title))
    return None


# The flow's end that closes the case; other End nodes only finish a side branch (a deadline
# notice, a follow-up) and say nothing about the case.
CLOSING_END = "end"


def _task_entries(order, rows=None) -> list[timeline.Entry]:
    """Workflow steps: who took each step and who completed it, a sign-off as fulfilled or
    sent back. Two queries, whatever the number of rounds; none with the case's ``rows``
    (CaseRows) fetched already."""
    if rows is None:
        tasks = Task.objects.filter(
            process_id=order.pk, flow_task_type__in=["HUMAN", "END"]
        ).select_related("owner")
        reviews = list(Review.objects.filter(order_id=order.pk).order_by("decided_at", "pk"))
    else:
        tasks, reviews = rows.tasks, rows.reviews
    entries, last_actor = [], None
    for task in sorted(tasks, key=lambda t: (t.finished or t.created, t.pk)):
        name = task.flow_task.name
        step = task.flow_task.task_title
        who = task.owner
        if task.flow_task_type == "HUMAN" and (taken := _taken_entry(task, step)):
            entries.append(taken)
        if task.finished is None or (task.flow_task_type == "END" and name != CLOSING_END):
            continue
        text = ""
        if task.flow_task_type == "END":
            # The engine closes the case; the person is whoever took the deciding step.
            title, who = _("Case closed: the order is fulfilled"), last_actor
        elif task.status == "CANCELED":
            # Withdrawal names the canceller as owner; a step cancelled by the case closing
            # (a pending follow-up) goes to whoever took the deciding step.
            title, who = _("Step cancelled: %(step)s") % {"step": step}, who or last_actor
        elif name == steps.SIGN_OFF.name and (review := _review_of(task, reviews)):
            title, text = SIGN_OFF_TITLES[review.outcome], review.reason
        else:
            row = steps.STEPS.get(name)
            title = (row.done_title if row else None) or step
        last_actor = who or last_actor
        entries.append(timeline.Entry(task.finished, who, "workflow", str(title), text))
    return entries


def access_title(event) -> str:
    """What the person did, in words (audit.actions: one vocabulary for every page)."""
    return audit_actions.label(event.action, refused=event.outcome == AccessEvent.Outcome.REFUSED)


# The kinds of objects an access event names, by the target_type written for them (a model's
# label when the object was found, a short word when it was refused unseen).
TARGET_KINDS = {
    "orders.order": "order",
    "order": "order",
    "viewflow.task": "task",
    "task": "task",
    "courses.measure": "measure",
    "measure": "measure",
    "courses.evidencedocument": "document",
    "document": "document",
    "orders.appeal": "appeal",
    "appeal": "appeal",
    "municipalities.municipality": "municipality",
}

KIND_NAMES = {
    "order": _("case"),
    "task": _("step"),
    "measure": _("measure"),
    "document": _("document"),
    "appeal": _("appeal"),
    "municipality": _("municipality"),
}


def _ids(events, kind) -> set[int]:
    # Ids as written (digits; a bigint at most), so a stray value cannot break the lookup.
    return {
        int(e.target_id)
        for e in events
        if TARGET_KINDS.get(e.target_type) == kind
        and e.target_id.isdigit()
        and len(e.target_id) <= 18
    }


def _order_named(order) -> tuple[str, str]:
    return str(order.pk), _("case %(number)s") % {"number": order.case_number}


def _objects_named(events, case=None) -> dict[tuple[str, int], tuple[str, str]]:
    """(kind, pk) -> (the case the object belongs to, its label): one query per kind of
    object on the page, whatever the number of events; none for ``case`` itself, when the
    events are of one case the caller has."""
    found = {("order", case.pk): _order_named(case)} if case is not None else {}
    if ids := _ids(events, "order") - {case.pk if case is not None else None}:
        for order in Order.objects.filter(pk__in=ids).only("pk", "case_number"):
            found["order", order.pk] = _order_named(order)
    if ids := _ids(events, "task"):
        tasks = Task.objects.filter(pk__in=ids).annotate(
            case_number=F("process__order__case_number")
        )
        for task in tasks:
            label = _("step “%(step)s” in case %(number)s") % {
                "step": task.flow_task.task_title,
                "number": task.case_number,
            }
            found["task", task.pk] = (str(task.process_id), label)
    if ids := _ids(events, "measure"):
        measures = (
            Measure.objects.filter(pk__in=ids)
            .select_related("course")
            .annotate(case_number=F("order__case_number"))
        )
        for m in measures:
            label = _("measure: %(measure)s in case %(number)s") % {
                "measure": m,
                "number": m.case_number,
            }
            found["measure", m.pk] = (str(m.order_id), label)
    if ids := _ids(events, "document"):
        documents = EvidenceDocument.objects.filter(pk__in=ids).values_list(
            "pk", "order_id", "original_name", "order__case_number"
        )
        for pk, order_id, name, number in documents:
            label = _("document “%(name)s” in case %(number)s") % {"name": name, "number": number}
            found["document", pk] = (str(order_id), label)
    if ids := _ids(events, "appeal"):
        appeals = Appeal.objects.filter(pk__in=ids).values_list(
            "pk", "order_id", "received_on", "order__case_number"
        )
        for pk, order_id, received, number in appeals:
            label = _("appeal received %(date)s in case %(number)s") % {
                "date": date_format(received),
                "number": number,
            }
            found["appeal", pk] = (str(order_id), label)
    return found


def _municipalities_named(events) -> dict[str, str]:
    """Municipality number or pk (as written) -> name: names of municipalities are public."""
    numbers = {e.target_id for e in events if e.target_type == "municipality"}
    pks = _ids(events, "municipality")
    if not numbers and not pks:
        return {}
    rows = Municipality.objects.filter(Q(number__in=numbers) | Q(pk__in=pks)).values_list(
        "pk", "number", "name"
    )
    named = {}
    for pk, number, name in rows:
        label = _("municipality %(name)s") % {"name": name}
        named[f"municipality:{number}"] = named[f"municipalities.municipality:{pk}"] = label
    return named


def _other_target(event) -> str:
    """Targets that are no object: a search, an export, the log itself."""
    kind, ident = event.target_type, event.target_id
    if kind == "search" and ident.startswith(">") and ident[1:].isdigit():
        # A search whose count stopped at the access-log search's cap (audit.selectors).
        return _("search with more than %(n)s hits") % {"n": ident[1:]}
    if kind == "search" and ident.isdigit():
        return ngettext("search with %(n)s hit", "search with %(n)s hits", int(ident)) % {
            "n": ident
        }
    if kind == "export" and ident.isdigit():
        return ngettext("export of %(n)s event", "export of %(n)s events", int(ident)) % {
            "n": ident
        }
    if kind == "access_log":
        return str(_("the access log"))
    if kind == "archive":
        return _("events %(range)s") % {"range": ident}
    return f"{kind} {ident}".strip()


def describe_targets(events, case=None) -> list:
    """Set ``target_label`` on each event: the object as a person reads it («sak 2026/1003»,
    «tiltak: … i sak 2026/1003», a document by its name). An object is named only as part of
    the event's own case — a refused probe of another case's measure or document says «not
    found» rather than revealing that case's number — and one that is gone says so too."""
    events = list(events)
    objects = _objects_named(events, case)
    municipalities = _municipalities_named(events)
    for event in events:
        kind = TARGET_KINDS.get(event.target_type)
        key = f"{event.target_type}:{event.target_id}"
        if key in municipalities:
            event.target_label = municipalities[key]
        elif kind in KIND_NAMES and kind != "municipality":
            case_id, label = objects.get(
                (kind, int(event.target_id)) if event.target_id.isdigit() else None, ("", "")
            )
            if label and case_id == event.case_id:
                event.target_label = str(label)
            else:
                event.target_label = _("%(kind)s (id %(id)s, not found)") % {
                    "kind": KIND_NAMES[kind],
                    "id": event.target_id,
                }
        elif kind == "municipality":
            event.target_label = _("%(kind)s (id %(id)s, not found)") % {
                "kind": KIND_NAMES[kind],
                "id": event.target_id,
            }
        else:
            event.target_label = _other_target(event)
    return events


def access_entries(events, case=None) -> list[timeline.Entry]:
    """Timeline entries of access events (of ``case``, if given), each naming what was
    opened."""
    return timeline.access_entries(
        describe_targets(events, case), title_of=access_title, text_of=lambda e: e.target_label
    )


def access_events_on(order) -> QuerySet[AccessEvent]:
    """Every access event on the case, newest first, shown or refused (views.visible_order
    logs a refused look by an outsider on the case it probed)."""
    return (
        AccessEvent.objects.filter(case_id=str(order.pk))
        .select_related("user")
        .order_by("-at", "-sequence")
    )


def readers_of(order) -> QuerySet[AccessEvent]:
    """Innsyn: the reads of the case that were shown, newest first (refused attempts showed
    nothing, so they are not reads)."""
    return (
        AccessEvent.objects.filter(case_id=str(order.pk), outcome=AccessEvent.Outcome.SHOWN)
        .select_related("user")
        .order_by("-at", "-sequence")
    )


TIMELINE_PAGE_SIZE = 50

# Access events flood a busy case's history (every opening is one), so they are shown when
# asked for; the rest is the default view.
ACCESS_KIND = "access"
HISTORY_KINDS = ("order", "workflow", "measure", "document", "decision")


def timeline_kinds_for(capabilities, order) -> list[str]:
    """The kinds of timeline entries ``user`` may filter on: the access log only for the
    authority (Capabilities.may_see_access_events)."""
    if capabilities.may_see_access_events(order):
        return [*HISTORY_KINDS, ACCESS_KIND]
    return list(HISTORY_KINDS)


# The case's timeline, as data: each source is a history table (or the workflow's tasks, or
# the access log) with the kind it is filtered by and how its entries are titled. Entries at
# the same moment keep this order.
TIMELINE_SOURCES = (
    timeline.HistorySource(
        "order",
        Order,
        "process_ptr_id",
        _("Order registered"),
        _("Order changed"),
        fields=(
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
        ),
    ),
    timeline.Source("workflow", _task_entries),
    timeline.HistorySource(
        "measure",
        Measure,
        "order_id",
        _("Measure added"),
        _("Measure changed"),
        fields=(
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
        ),
        text="description",
    ),
    timeline.HistorySource(
        "measure",
        CourseMeeting,
        "measure__order_id",
        _("Course meeting scheduled"),
        _("Course meeting changed"),
        fields=("date", "attendance", "absence_reason"),
    ),
    timeline.HistorySource(
        "measure",
        SupervisionGrant,
        "order_id",
        _("Supervisor given access to the case"),
        _("Supervisor's access to the case ended"),
        fields=("ended_at",),
        text="reason",
    ),
    timeline.HistorySource(
        "measure",
        SupervisionSession,
        "measure__order_id",
        _("Supervision session recorded"),
        _("Supervision session changed"),
        fields=("date", "duration_minutes", "topic", "status"),
        text="topic",
    ),
    timeline.HistorySource(
        "document",
        EvidenceDocument,
        "order_id",
        _("Document added"),
        _("Document changed"),
        fields=("kind", "original_name"),
        text="original_name",
    ),
    timeline.HistorySource(
        "decision",
        CompletionConfirmation,
        "order_id",
        _("Completion confirmed"),
        _("Completion confirmation changed"),
        fields=("note",),
        text="note",
    ),
    timeline.HistorySource(
        "decision",
        Review,
        "order_id",
        _("Sign-off decision"),
        _("Sign-off decision changed"),
        fields=("outcome", "reason"),
        text="reason",
    ),
    timeline.HistorySource(
        "decision",
        DeadlineExtension,
        "order_id",
        _("Deadline extended"),
        _("Deadline extension changed"),
        fields=("new_deadline", "reason"),
        text="reason",
    ),
    timeline.HistorySource(
        "decision",
        Appeal,
        "order_id",
        _("Appeal received"),
        _("Appeal decided"),
        fields=("outcome", "decided_by", "decided_on", "decision_note"),
        text="note",
    ),
    # Only the newest rows a page shows are fetched: a busy case's access log is long.
    timeline.NewestFirstSource(ACCESS_KIND, access_events_on, access_entries),
)


def timeline_for(order, *, kinds=(), rows=None) -> timeline.Timeline:
    """The case's history, newest first, as a sliceable timeline for a Paginator: a fixed
    number of queries per page, however long it is; with the case's ``rows`` (CaseRows,
    fetched for the same kinds), only the access log's. ``kinds`` defaults to HISTORY_KINDS;
    the caller has checked "access" against timeline_kinds_for."""
    sources = TIMELINE_SOURCES
    if rows is not None:
        sources = [
            timeline.Source(s.kind, lambda o: _task_entries(o, rows))
            if s.kind == "workflow" and isinstance(s, timeline.Source)
            else s
            for s in TIMELINE_SOURCES
        ]
    return timeline.assemble(
        sources,
        order,
        kinds=kinds or HISTORY_KINDS,
        fetched=rows.history if rows is not None else None,
    )


def follow_up_context(order, task) -> dict:
    """What the follow-up page shows: the late step, its deadline, whether extending is open."""
    late = deadlines.watched_step(task)
    return {
        "late_step": late,
        "late_due": deadlines.step_deadline(order, late.flow_task.name),
        "may_extend": not access.is_closed(order),
    }


def deadlines_for_page(order, measures, appeals, human_tasks=None) -> list:
    """The case's deadlines for the case page, soonest first, each with its state: met (in time
    or late, from the moment it was met), lapsed with a closed case, overdue or open.
    ``human_tasks``: the order's human tasks, if fetched already."""
    if human_tasks is None:
        human_tasks = Task.objects.filter(process_id=order.pk, flow_task_type="HUMAN")
    moments = deadlines.step_moments(human_tasks)
    found = deadlines.deadlines_of(
        order,
        open_steps=moments.open_steps,
        measures=measures,
        has_appeal=bool(appeals),
        planned_at=moments.planned_at,
        confirmed_at=moments.confirmed_at,
    )
    return sorted(found, key=lambda d: d.due)
