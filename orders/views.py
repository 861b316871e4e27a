"""Pages of the order: thin views that parse a form, call a service or selector, render."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import PROCESS

import audit
from audit import Action
from config.pages import form_errors_from, list_query, page_of
from municipalities.selectors import caseworkers_of

from . import access, deadlines, forms, selectors, services, steps
from .models import Order

# Another person held the case's lock for longer than viewflow's retries: nothing was saved.
BUSY_MESSAGE = _(
    "Someone else is saving a change to this case right now. Nothing was saved; please try again."
)


def log_access(request, action, target, *, order=None, outcome="shown", detail=""):
    """One access event, in the capacity the user has on the case (or in general)."""
    if order is not None:
        capacity = request.capabilities.capacity_on(order)
    else:
        capacity = request.capabilities.capacity_outside()
    audit.record(
        request=request,
        action=action,
        target=target,
        outcome=outcome,
        case=order,
        capacity=capacity,
        detail=detail,
    )


def visible_order(request, pk, action=Action.VIEW_CASE) -> Order:
    """The order, or 404; a refused look at somebody else's case is logged too, on that case
    (if it exists) so the issuing authority's security officer sees who probed it."""
    try:
        return selectors.order_for(request.capabilities, pk)
    except Http404:
        log_refused_probe(request, action, f"order:{pk}", order_pk=pk)
        raise


def log_refused_probe(request, action, target, *, order_pk=None, detail=""):
    """A refused look at something that may belong to a case the user does not see: logged on
    that case (if it exists), under its issuing authority."""
    probed_case = None
    if order_pk is not None:
        probed_case = Order.objects.filter(pk=order_pk).only("pk", "issuing_authority_id").first()
    # What they are in general: not "the health personnel concerned", who could see it.
    capacity = request.capabilities.capacity_outside(probed_case)
    audit.record(
        request=request,
        action=action,
        target=target,
        outcome="refused",
        case=probed_case,
        capacity=capacity,
        detail=detail,
    )


def probed(request, order, action, target, lookup, pk):
    """Look up something inside a visible case; a miss (e.g. another case's id) is logged."""
    try:
        return lookup(order, pk)
    except Http404:
        log_access(request, action, target, order=order, outcome="refused")
        raise


@login_required
def my_tasks(request):
    filters = forms.DeadlineFilterForm(request.GET or None)
    due, today = filters.values()["due"], timezone.localdate()
    page = page_of(request, selectors.task_list(request.capabilities, due=due, today=today))
    for task in page.object_list:
        task.next_due = selectors.next_due_of(task.process.order, today)
    # The health personnel's landing page also shows the orders about them, open or not,
    # where they may have nothing to do but still want to follow them.
    own_cases = selectors.own_cases(request.capabilities)
    for order in own_cases:
        order.stage = selectors.stage_of(order)
        order.next_due = selectors.next_due_of(order, today)
    context = {
        "page": page,
        "filters": filters,
        "filtered": bool(due),
        "query": list_query(request),
        "own_cases": own_cases,
    }
    return render(request, "orders/my_tasks.html", context)


@login_required
def case_list(request):
    filters = forms.CaseListFilterForm(request.GET or None)
    values, today = filters.values(), timezone.localdate()
    search = values["q"]
    orders = selectors.case_list(
        request.capabilities,
        state=values["state"],
        search=search,
        due=values["due"],
        today=today,
        sort=values["sort"],
    )
    page = page_of(request, orders)
    if search:
        # The term is kept: a security officer looking for snooping needs to see what was asked.
        shown = ",".join(o.case_number for o in page.object_list)
        log_access(
            request,
            Action.SEARCH_CASES,
            f"search:{page.paginator.count}",
            detail=f"{search} → {shown}",
        )
    for order in page.object_list:
        order.stage = selectors.stage_of(order)
        order.next_due = selectors.next_due_of(order, today)
    authorities = {order.issuing_authority_id for order in page.object_list}
    context = {
        "page": page,
        "filters": filters,
        "query": list_query(request),
        "overview": selectors.deadline_overview(request.capabilities, today),
        "columns": _sortable_columns(request, values["sort"] or "deadline", authorities),
        "sorted_by_deadline": values["sort"] in ("", "deadline"),
        # One authority on every row: said once above the list, not repeated in a column.
        "one_authority": page.object_list[0].issuing_authority if len(authorities) == 1 else None,
    }
    return render(request, "orders/case_list.html", context)


AUTHORITY_HEADING = _("Authority")
# The case list's columns: (sort key or None, heading).
CASE_COLUMNS = (
    ("case", _("Case")),
    ("person", _("Health personnel")),
    ("municipality", _("Municipality")),
    (None, AUTHORITY_HEADING),
    (None, _("Status")),
    ("deadline", _("Next deadline")),
    ("completion", _("Completion deadline")),
)


def _sortable_columns(request, current, authorities) -> list[dict]:
    """Each column's heading, and for a sortable one: its link (the filters kept, back to
    the first page; the sorted column's link turns the order round) and its aria-sort. The
    authority's column only when the rows have more than one."""
    columns = []
    for key, heading in CASE_COLUMNS:
        if heading is AUTHORITY_HEADING and len(authorities) <= 1:
            continue
        column = {"heading": heading, "key": key}
        if key is not None:
            query = request.GET.copy()
            query.pop("side", None)
            query["sort"] = f"-{key}" if current == key else key
            column["query"] = query.urlencode()
            column["aria_sort"] = (
                "ascending" if current == key else "descending" if current == f"-{key}" else ""
            )
        columns.append(column)
    return columns


@login_required
def case_detail(request, pk):
    order = visible_order(request, pk)
    log_access(request, Action.VIEW_CASE, order, order=order)
    capabilities = request.capabilities
    if not capabilities.may_see_full_case(order):
        return _supervised_case(request, order)
    kinds = timeline_kinds(request, order)
    # Every row the page shows, in one query (selectors.case_rows).
    rows = selectors.case_rows(order, kinds=kinds[2])
    context = {
        "order": order,
        "stage": selectors.stage_of(order),
        "closed": access.is_closed(order),
        "open_tasks": [(t, capabilities.may_take_step(order, t)) for t in rows.open_tasks],
        "waiting_for": [t for t in rows.open_tasks if not capabilities.may_take_step(order, t)],
        "may_manage": capabilities.may_manage_case(order),
        "may_decide_appeal": capabilities.may_decide_appeal(order),
        "may_see_readers": capabilities.is_concerned(order),
        **timeline_context(request, order, kinds=kinds, rows=rows),
        **rows.page_data(),
    }
    context["deadlines"] = selectors.deadlines_for_page(
        order, context["measures"], context["appeals"], rows.human_tasks
    )
    context["today"] = timezone.localdate()
    context["progress"] = selectors.progress_of(order)
    upcoming = deadlines.next_due(context["deadlines"])
    context["next_due"] = (
        selectors.NextDue(upcoming.due, upcoming.kind, upcoming.days_left(context["today"]))
        if upcoming and not context["closed"]
        else None
    )
    return render(request, "orders/case_detail.html", context)


def _supervised_case(request, order):
    """A supervisor's view of the case: who it concerns, what the order requires, the
    deadline and their own measure; not the grounds, decisions, appeals, other measures,
    documents or the timeline."""
    context = {
        "order": order,
        "stage": selectors.stage_of(order),
        **selectors.supervised_case_data(request.capabilities, order),
    }
    return render(request, "orders/case_supervised.html", context)


TIMELINE_KINDS = {
    "order": _("Order"),
    "workflow": _("Workflow steps"),
    "measure": _("Measures"),
    "document": _("Documents"),
    "decision": _("Decisions"),
    selectors.ACCESS_KIND: _("Access log"),
}

# The timeline's own page parameter: "side" is the case list's, and may come along.
TIMELINE_PAGE = "tidslinje"


def timeline_kinds(request, order) -> tuple[list[str], list[str], list[str]]:
    """The kinds of the timeline: those the user may see, those chosen (?vis=) among them,
    and those shown (the chosen, or the default ones)."""
    allowed = selectors.timeline_kinds_for(request.capabilities, order)
    chosen = [k for k in request.GET.getlist("vis") if k in allowed]
    return allowed, chosen, chosen or list(selectors.HISTORY_KINDS)


def timeline_context(request, order, *, kinds=None, rows=None) -> dict:
    """The chosen kinds (?vis=, only those the user may see), one page of the merged timeline,
    and the query string its page links keep. ``kinds``: timeline_kinds, and ``rows`` the
    case's rows fetched for the kinds shown (selectors.case_rows), when the caller has them."""
    allowed, chosen, shown = kinds or timeline_kinds(request, order)
    entries = selectors.timeline_for(order, kinds=shown, rows=rows)
    page = Paginator(entries, selectors.TIMELINE_PAGE_SIZE).get_page(request.GET.get(TIMELINE_PAGE))
    return {
        "timeline": list(page.object_list),
        "timeline_page": page,
        "timeline_kinds": [(k, TIMELINE_KINDS[k], k in shown) for k in allowed],
        "timeline_query": urlencode({"vis": chosen}, doseq=True),
        "timeline_page_param": TIMELINE_PAGE,
    }


@login_required
def case_readers(request, pk):
    """Innsyn: the health personnel concerned sees who has read their case, when, in which
    capacity (Normen, fact sheet 15). Anyone else is told it does not exist."""
    order = visible_order(request, pk, action=Action.VIEW_CASE_READERS)
    if not request.capabilities.is_concerned(order):
        log_access(request, Action.VIEW_CASE_READERS, order, order=order, outcome="refused")
        raise Http404
    log_access(request, Action.VIEW_CASE_READERS, order, order=order)
    page = page_of(request, selectors.readers_of(order))
    context = {
        "order": order,
        "page": page,
        "reads": selectors.access_entries(page.object_list, order),
    }
    return render(request, "orders/case_readers.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def issue_order(request):
    if not request.capabilities.may_issue():
        raise Http404
    authorities = request.capabilities.caseworker_authorities()
    form = forms.IssueOrderForm(
        request.POST or None,
        authorities=authorities,
        caseworkers=caseworkers_of(authorities),
        initial={"caseworker": request.user.pk},
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = services.issue_order(acting_user=request.user, **form.service_arguments())
        except FlowLockFailed:
            messages.warning(request, BUSY_MESSAGE)
        except ValidationError as error:
            form_errors_from(error, form)
        else:
            messages.success(
                request, _("The order %(case)s is registered.") % {"case": order.case_number}
            )
            return redirect("orders:case_detail", pk=order.pk)
    return render(request, "orders/issue_order.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def task_step(request, pk, task_pk):
    order = visible_order(request, pk, action=Action.OPEN_STEP)
    task = probed(
        request, order, Action.OPEN_STEP, f"task:{task_pk}", selectors.step_task_for, task_pk
    )
    if task.status not in access.OPEN_TASK_STATUSES:
        # A double click or a stale task list: say so rather than "not found".
        messages.warning(request, _("This step has already been taken or is no longer open."))
        return redirect("orders:case_detail", pk=order.pk)
    if not request.capabilities.may_take_step(order, task):
        log_access(request, Action.OPEN_STEP, task, order=order, outcome="refused")
        raise PermissionDenied
    step = STEPS[access.step_name(task)]
    bound = request.method == "POST"
    if bound and step.get("grow") and step["grow"]["button"] in request.POST:
        # A button that adds a row to the form (plan measures: «Legg til tiltak»): the same
        # page again with what was typed and one row more, nothing saved or checked.
        step_forms = step["grow"]["forms"](request, order)
        bound = False
    else:
        step_forms = step["forms"](request, order, bound)
    if bound and all(f.is_valid() for f in step_forms.values()):
        try:
            step["service"](task=task, acting_user=request.user, **step["arguments"](step_forms))
        except services.StepNotOpen:
            messages.warning(request, _("This step has already been taken or is no longer open."))
            return redirect("orders:case_detail", pk=order.pk)
        except FlowLockFailed:
            messages.warning(request, BUSY_MESSAGE)
        except ValidationError as error:
            form_errors_from(error, next(iter(step_forms.values())))
        else:
            messages.success(request, step["done"])
            return redirect("orders:case_detail", pk=order.pk)
    log_access(request, Action.OPEN_STEP, task, order=order)
    context = {"order": order, "task": task, "stage": selectors.stage_of(order), **step_forms}
    if step.get("context"):
        context.update(step["context"](order, task))
    return render(request, step["template"], context)


def _data(request, bound):
    return (request.POST, request.FILES) if bound else (None, None)


# Each step's page: its form(s), the service it calls and its template. What the step is (who
# takes it, its titles, its deadline) is orders.steps; tests/orders/test_steps.py keeps the two
# tables and the flow's nodes in step.
STEPS = {
    steps.PLAN_MEASURES.name: {
        "template": "orders/step_plan_measures.html",
        "forms": lambda request, order, bound: {
            "form": forms.PlanReceiptForm(_data(request, bound)[0]),
            "formset": forms.MeasureFormSet(
                _data(request, bound)[0],
                prefix="tiltak",
                form_kwargs={"personnel": order.health_personnel},
            ),
        },
        "grow": {
            "button": forms.ADD_MEASURE,
            "forms": lambda request, order: {
                "form": forms.PlanReceiptForm(
                    initial={"received": request.POST.get("received") == "on"}
                ),
                "formset": forms.measure_formset_grown(
                    request.POST, prefix="tiltak", personnel=order.health_personnel
                ),
            },
        },
        "service": services.plan_measures,
        "arguments": lambda f: {"measures": f["formset"].measures()},
        "context": lambda order, task: {"add_measure": forms.ADD_MEASURE},
        "done": _(
            "The measures are planned. The health personnel has been asked to accept the plan."
        ),
    },
    steps.ACKNOWLEDGE.name: {
        "template": "orders/step_acknowledge.html",
        "forms": lambda request, order, bound: {
            "form": forms.AcknowledgeForm(_data(request, bound)[0])
        },
        "service": services.acknowledge_plan,
        "arguments": lambda f: {},
        "context": lambda order, task: {"measures": selectors.measures_of(order)},
        "done": _("You have accepted the plan."),
    },
    steps.CONFIRM_COMPLETION.name: {
        "template": "orders/step_confirm_completion.html",
        "forms": lambda request, order, bound: {
            "form": forms.ConfirmCompletionForm(*_data(request, bound), order=order)
        },
        "service": services.confirm_completion,
        "arguments": lambda f: {
            "note": f["form"].cleaned_data["note"],
            "uploads": [
                (file, f["form"].cleaned_data["document_kind"])
                for file in f["form"].cleaned_data["files"]
            ],
            "existing_documents": list(f["form"].cleaned_data.get("existing_documents") or []),
            "reasons": f["form"].reasons(),
        },
        "context": lambda order, task: {
            "measures": selectors.measures_of(order),
            "reviews": list(order.reviews.all()),
        },
        "done": _("Completion is confirmed and sent to the authority."),
    },
    steps.SIGN_OFF.name: {
        "template": "orders/step_sign_off.html",
        "forms": lambda request, order, bound: {
            "form": forms.SignOffForm(_data(request, bound)[0])
        },
        "service": services.sign_off,
        "arguments": lambda f: {
            "outcome": f["form"].cleaned_data["outcome"],
            "reason": f["form"].cleaned_data["reason"],
        },
        "context": lambda order, task: selectors.case_page_data(order),
        "done": _("Your decision is recorded."),
    },
    steps.FOLLOW_UP.name: {
        "template": "orders/step_follow_up.html",
        "forms": lambda request, order, bound: {
            "form": forms.FollowUpForm(_data(request, bound)[0])
        },
        "service": services.follow_up,
        "arguments": lambda f: {
            "action": f["form"].cleaned_data["action"],
            "note": f["form"].cleaned_data["note"],
        },
        "context": lambda order, task: selectors.follow_up_context(order, task),
        "done": _("Your follow-up is recorded."),
    },
}


ALREADY_WITHDRAWN_MESSAGE = _("The order has already been withdrawn; nothing was changed.")


def _closed_case_message(order):
    if order.status == PROCESS.CANCELED:
        return ALREADY_WITHDRAWN_MESSAGE
    return _("The case is closed; nothing was changed.")


def _case_action(request, pk, form_class, service, template, done, arguments):
    order = visible_order(request, pk, action=Action.MANAGE_CASE)
    if access.is_closed(order) and request.capabilities.may_act_as_caseworker(order):
        # A second submit (or another caseworker) after the case closed: refused and logged
        # as before, but the person is told what happened instead of "forbidden".
        log_access(request, Action.MANAGE_CASE, order, order=order, outcome="refused")
        messages.warning(request, _closed_case_message(order))
        return redirect("orders:case_detail", pk=order.pk)
    if not request.capabilities.may_manage_case(order):
        log_access(request, Action.MANAGE_CASE, order, order=order, outcome="refused")
        raise PermissionDenied
    form = form_class(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            service(order=order, acting_user=request.user, **arguments(form.cleaned_data))
        except services.StepNotOpen:
            order.refresh_from_db(fields=["status"])
            if order.status == PROCESS.CANCELED:
                messages.warning(request, ALREADY_WITHDRAWN_MESSAGE)
            else:
                messages.warning(request, _("The case has closed meanwhile; nothing was changed."))
            return redirect("orders:case_detail", pk=order.pk)
        except FlowLockFailed:
            messages.warning(request, BUSY_MESSAGE)
        except ValidationError as error:
            form_errors_from(error, form)
        else:
            messages.success(request, done)
            return redirect("orders:case_detail", pk=order.pk)
    return render(request, template, {"order": order, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def extend_deadline(request, pk):
    return _case_action(
        request,
        pk,
        forms.ExtendDeadlineForm,
        services.extend_deadline,
        "orders/extend_deadline.html",
        _("The deadline is extended."),
        lambda d: {"new_deadline": d["new_deadline"], "reason": d["reason"]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw_order(request, pk):
    return _case_action(
        request,
        pk,
        forms.WithdrawForm,
        services.withdraw_order,
        "orders/withdraw_order.html",
        _("The order is withdrawn and the case is closed."),
        lambda d: {"reason": d["reason"]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def register_appeal(request, pk):
    return _case_action(
        request,
        pk,
        forms.RegisterAppealForm,
        services.register_appeal,
        "orders/register_appeal.html",
        _("The appeal is registered. The case is marked as under appeal."),
        lambda d: {"received_on": d["received_on"], "note": d["note"]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def decide_appeal(request, pk, appeal_pk):
    order = visible_order(request, pk, action=Action.MANAGE_CASE)
    if not request.capabilities.may_decide_appeal(order):
        log_access(request, Action.MANAGE_CASE, order, order=order, outcome="refused")
        raise PermissionDenied
    appeal = order.appeals.filter(pk=appeal_pk).first()
    if appeal is None:
        log_access(
            request, Action.MANAGE_CASE, f"appeal:{appeal_pk}", order=order, outcome="refused"
        )
        raise Http404
    if appeal.outcome != appeal.Outcome.PENDING:
        # A second submit, or a colleague was first: the decision stands as recorded.
        log_access(
            request, Action.MANAGE_CASE, f"appeal:{appeal_pk}", order=order, outcome="refused"
        )
        messages.warning(request, _("The appeal has already been decided."))
        return redirect("orders:case_detail", pk=order.pk)
    form = forms.DecideAppealForm(request.POST or None, appeal=appeal)
    if request.method == "POST" and form.is_valid():
        try:
            services.decide_appeal(appeal=appeal, acting_user=request.user, **form.cleaned_data)
        except services.StepNotOpen:
            messages.warning(request, _("The appeal has already been decided."))
            return redirect("orders:case_detail", pk=order.pk)
        except FlowLockFailed:
            messages.warning(request, BUSY_MESSAGE)
        except ValidationError as error:
            form_errors_from(error, form)
        else:
            messages.success(request, _("The outcome of the appeal is recorded."))
            return redirect("orders:case_detail", pk=order.pk)
    context = {"order": order, "appeal": appeal, "form": form}
    return render(request, "orders/decide_appeal.html", context)


@login_required
def download_document(request, pk, document_pk):
    order = visible_order(request, pk, action=Action.DOWNLOAD_DOCUMENT)
    document = probed(
        request,
        order,
        Action.DOWNLOAD_DOCUMENT,
        f"document:{document_pk}",
        lambda order, pk: selectors.document_for(request.capabilities, order, pk),
        document_pk,
    )
    log_access(request, Action.DOWNLOAD_DOCUMENT, document, order=order)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.download_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
