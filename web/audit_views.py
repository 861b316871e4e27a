"""The access log for an authority's security officer (sikkerhetsansvarlig): search and CSV
export. Both are scoped by the request's capabilities (audit_scope), and both are logged themselves,
so the log also shows who looked at the log."""

import csv
from itertools import islice

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

import audit
from audit import Action, selectors
from audit.actions import label
from audit.models import AccessEvent
from orders.models import Order
from orders.selectors import describe_targets
from orders.views import log_access

from .audit_forms import AuditSearchForm

EXPORT_CHUNK = 2000
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _scope_for(request, action, target):
    """The user's audit scope, or 404 (logged) for anyone who is not a security officer."""
    scope = request.capabilities.audit_scope()
    if not scope:
        log_access(request, action, target, outcome="refused")
        raise Http404
    return scope


class CappedPaginator(Paginator):
    """Counts the matching events no further than one past CAP, and pages through the newest
    CAP of them. An exact count reads every match (0.8 s for one authority's share of 1.3
    million events, against 30 ms for the capped one), and the log grows with every look, this
    page's own included. Beyond the cap the page says «more than»; a period narrows the search,
    and the export still sends every match."""

    CAP = 10_000

    @cached_property
    def counted(self) -> int:
        return self.object_list[: self.CAP + 1].count()

    @property
    def count(self) -> int:
        return min(self.counted, self.CAP)

    @property
    def more_than_cap(self) -> bool:
        return self.counted > self.CAP

    @property
    def cap_shown(self) -> str:
        return number_format(self.CAP, force_grouping=True)


def _form(request):
    # Always bound: the page opens on the newest events, which is itself a search.
    return AuditSearchForm(request.GET)


def _events(request, scope, form, up_to=None):
    # Separation of duties (Capabilities.is_concerned): a security officer who is the subject
    # of a case does not read who opened it through the authority's log — their own case's
    # events are left out of their search and export, as if the case were outside their scope
    # (they keep its innsyn page, which shows its reads the way every subject sees them).
    return selectors.search_events(
        scope.authority_ids,
        include_unassigned=scope.include_unassigned,
        excluded_case_ids=request.capabilities.case_ids_concerning(),
        up_to=up_to,
        **form.search_arguments(),
    )


def _record(request, scope, action, target, detail):
    # In the capacity of security officer (not, say, caseworker), under the audited authority.
    audit.record(
        request=request, action=action, target=target, capacity=scope.capacity, detail=detail
    )


def _case_numbers(case_ids) -> dict[str, str]:
    """case_id (the order's pk as text) -> case number, in one query."""
    ids = {case_id for case_id in case_ids if case_id.isdigit()}
    if not ids:
        return {}
    rows = Order.objects.filter(pk__in=ids).order_by().values_list("pk", "case_number")
    return {str(pk): number for pk, number in rows}


def _said(event) -> str:
    """The action in words, as refused when it was."""
    return label(event.action, refused=event.outcome == AccessEvent.Outcome.REFUSED)


def _render(request, scope, form, page=None):
    query = request.GET.copy()
    query.pop("side", None)
    context = {"scope": scope, "form": form, "page": page, "query": query.urlencode()}
    return render(request, "web/audit_search.html", context)


@login_required
@require_GET
def search(request):
    scope = _scope_for(request, Action.SEARCH_AUDIT, "access_log:search")
    form = _form(request)
    if not form.is_valid():
        return _render(request, scope, form)
    paginator = CappedPaginator(_events(request, scope, form), settings.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("side"))
    numbers = _case_numbers(event.case_id for event in page.object_list)
    describe_targets(page.object_list)
    for event in page.object_list:
        event.case_number = numbers.get(event.case_id, "")
        event.action_label = _said(event)
    found = f">{paginator.CAP}" if paginator.more_than_cap else paginator.count
    _record(request, scope, Action.SEARCH_AUDIT, f"search:{found}", form.described())
    return _render(request, scope, form, page)


@login_required
@require_GET
def export(request):
    scope = _scope_for(request, Action.EXPORT_AUDIT, "access_log:export")
    form = _form(request)
    if not form.is_valid():
        return _render(request, scope, form)
    # Up to the newest event now: the count logged is the count sent, and the export's own
    # event is not in it.
    events = _events(request, scope, form, up_to=selectors.last_sequence())
    count = events.count()
    # Logged before the first byte leaves: if the log cannot be written, nothing is sent.
    _record(
        request, scope, Action.EXPORT_AUDIT, f"export:{count}", f"{form.described()} → {count} rows"
    )
    # The header is translated now, while the request's language is active.
    lines = _csv_lines(_header(), events)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="tilgangslogg-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class _Echo:
    """csv.writer writes one row into this and returns it, for streaming."""

    def write(self, value):
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _header():
    return [
        _("Sequence"),
        _("Time"),
        _("User name"),
        _("Name"),
        _("Role"),
        _("Organisation"),
        _("Overseeing authority"),
        _("Action"),
        _("Action code"),
        _("Object"),
        _("Object type"),
        _("Object id"),
        _("Case id"),
        _("Case number"),
        _("Outcome"),
        _("IP address"),
        _("Detail"),
        _("Previous hash"),
        _("Hash"),
    ]


def _row(event, numbers):
    user = event.user
    return [
        event.sequence,
        timezone.localtime(event.at).isoformat(timespec="seconds"),
        user.username if user else "",
        user.get_full_name() if user else "",
        event.get_role_display() if event.role else "",
        event.organisation,
        event.authority_id,
        _said(event),
        event.action,
        event.target_label,
        event.target_type,
        event.target_id,
        event.case_id,
        numbers.get(event.case_id, ""),
        event.get_outcome_display(),
        event.ip_address,
        event.detail,
        event.previous_hash,
        event.hash,
    ]


def _csv_lines(header, events):
    # Semicolons, as Excel expects with Norwegian settings; the csv module quotes any value
    # that contains one. The BOM makes Excel read the file as UTF-8 (æ, ø, å).
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow([_cell(h) for h in header])
    rows = events.iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(rows, EXPORT_CHUNK)):
        numbers = _case_numbers(event.case_id for event in chunk)
        describe_targets(chunk)
        yield "".join(writer.writerow([_cell(v) for v in _row(event, numbers)]) for event in chunk)
