"""Pages that cut across the apps: the municipality list and overview (municipalities' register
with the orders of the municipality) and the health personnel look-up of the issue form."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from audit import Action
from config.pages import list_query, page_of
from municipalities.models import Appointment, HealthPersonnel
from municipalities.selectors import register_of, register_size
from orders import selectors
from orders.views import log_access

from . import forms


@login_required
def municipality_list(request):
    form = forms.MunicipalitySearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    municipalities = request.capabilities.overseen_municipalities().select_related("authority")
    if search:
        municipalities = municipalities.filter(
            Q(number__startswith=search)
            | Q(name__icontains=search)
            | Q(official_name__icontains=search)
        )
    page = page_of(request, municipalities.order_by("number"))
    query = urlencode({"q": search}) if search else ""
    context = {"page": page, "q": search, "query": query, "form": form}
    return render(request, "web/municipality_list.html", context)


# The GP register's page parameter on the overview ("side" is its orders').
GP_PAGE = "leger"


@login_required
def municipality_overview(request, number):
    """The municipality's GP offices, GPs and orders: for its leaders and the authorities
    that cover it."""
    overseen = (
        request.capabilities.overseen_municipalities()
        .select_related("authority")
        .annotate(register_size=register_size())
    )
    municipality = overseen.filter(number=number).first()
    if municipality is None:
        log_access(request, Action.VIEW_MUNICIPALITY, f"municipality:{number}", outcome="refused")
        raise Http404
    log_access(request, Action.VIEW_MUNICIPALITY, municipality)
    # The register is paged on its own parameter, so each list keeps the other's page.
    gps = page_of(
        request, register_of(municipality), count=municipality.register_size, param=GP_PAGE
    )
    today = timezone.localdate()
    visible_here = request.capabilities.orders_visible().filter(municipality=municipality)
    counts = selectors.deadline_counts(visible_here, today)
    orders = selectors.orders_for_list(request.capabilities, today=today).filter(
        municipality=municipality
    )
    # The same orders the counts are of: their number is counted with the rest.
    page = page_of(request, selectors.KeyFirst(orders), count=counts["total"])
    for order in page.object_list:
        order.stage = selectors.stage_of(order)
        order.next_due = selectors.next_due_of(order, today)
    context = {
        "municipality": municipality,
        "gps": gps,
        "gp_page_param": GP_PAGE,
        "gp_query": list_query(request, GP_PAGE),
        "page": page,
        "query": list_query(request),
        "overview": [selectors.OrganisationCounts("municipality", municipality, counts)],
        "may_appoint": request.capabilities.may_appoint(Appointment.Role.LEADER, municipality),
    }
    return render(request, "web/municipality_overview.html", context)


@login_required
def personnel_lookup(request):
    """Type-ahead for the issue form: health personnel by HPR number or name (caseworkers)."""
    if not request.capabilities.may_issue():
        log_access(request, Action.SEARCH_PERSONNEL, "search:0", outcome="refused")
        raise Http404
    form = forms.PersonnelLookupForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"results": [], "errors": form.errors["q"]})
    term = form.cleaned_data["q"]
    if len(term) < 2:
        return JsonResponse({"results": []})
    matches = HealthPersonnel.objects.select_related("municipality").filter(
        Q(hpr_number__startswith=term) | Q(name__icontains=term)
    )[:10]
    log_access(request, Action.SEARCH_PERSONNEL, f"search:{len(matches)}", detail=term)
    results = [
        {
            "hpr": p.hpr_number,
            "name": p.name,
            "profession": p.get_profession_display(),
            "municipality_number": p.municipality.number,
            "municipality": p.municipality.name,
        }
        for p in matches
    ]
    return JsonResponse({"results": results})
