"""Organisation pages: an authority's people, a municipality's leaders, and the forms that
appoint and remove them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

import audit

from . import access, appointments, lockout, selectors
from .forms import AppointForm, EndAppointmentForm
from .models import Appointment, Authority, Municipality

AUTHORITY_ROLES = [
    Appointment.Role.CASEWORKER,
    Appointment.Role.ADMINISTRATOR,
    Appointment.Role.SECURITY_OFFICER,
]


def _log_refused(request, action, target, *, authority_id=None):
    """Log a refusal under the authority whose organisation was probed, so that its security
    officer sees it."""
    capacity = access.capacity_of(request.user)
    if authority_id is not None:
        capacity = audit.Capacity(capacity.role, capacity.organisation, authority_id)
    audit.record(
        request=request, action=action, target=target, outcome="refused", capacity=capacity
    )


def _authority_for(request, pk, action) -> Authority:
    authority = access.member_authorities(request.user).filter(pk=pk).first()
    if authority is None:
        probed = Authority.objects.filter(pk=pk).values_list("pk", flat=True).first()
        _log_refused(request, action, f"authority:{pk}", authority_id=probed)
        raise Http404
    return authority


def _municipality_for(request, number, action) -> Municipality:
    municipality = access.overseen_municipalities(request.user).filter(number=number).first()
    if municipality is None:
        probed = Municipality.objects.filter(number=number).values_list("authority", flat=True)
        _log_refused(request, action, f"municipality:{number}", authority_id=probed.first())
        raise Http404
    return municipality


def _field(organisation):
    if isinstance(organisation, Authority):
        return {"authority": organisation}
    return {"municipality": organisation}


def _organisation_context(request, organisation, roles):
    return {
        "organisation": organisation,
        "appointments": list(selectors.appointments_of(organisation)),
        "history": list(selectors.appointment_history_of(organisation)[:200]),
        "may_appoint": any(access.may_appoint(request.user, r, organisation) for r in roles),
        "may_end": any(
            access.may_end_appointment(request.user, Appointment(role=r, **_field(organisation)))
            for r in roles
        ),
    }


@login_required
def authority_detail(request, pk):
    authority = _authority_for(request, pk, audit.Action.VIEW_ORGANISATION)
    context = _organisation_context(request, authority, AUTHORITY_ROLES)
    context["covered"] = authority.municipalities.filter(valid_to__isnull=True).count()
    if access.may_unlock(request.user, authority):
        context["locked"] = lockout.locked_usernames(
            {a.user.username for a in context["appointments"] if not a.ended_at}
        )
    return render(request, "municipalities/authority_detail.html", context)


@login_required
@require_http_methods(["POST"])
def unlock_account(request, pk):
    """Open the locked account of someone who acts for the authority."""
    authority = _authority_for(request, pk, audit.Action.UNLOCK)
    person = (
        Appointment.objects.filter(
            authority=authority, ended_at__isnull=True, user__username=request.POST.get("username")
        )
        .select_related("user")
        .first()
    )
    if person is None or not access.may_unlock(request.user, authority):
        _log_refused(request, audit.Action.UNLOCK, authority, authority_id=authority.pk)
        raise PermissionDenied
    lockout.unlock(
        acting_user=request.user,
        user=person.user,
        request=request,
        capacity=access.capacity_of(request.user),
    )
    messages.success(request, _("The account is open: %(who)s can log in again.") % {"who": person.user})
    return redirect("municipalities:authority_detail", pk=authority.pk)


@login_required
def municipality_leaders(request, number):
    municipality = _municipality_for(request, number, audit.Action.VIEW_ORGANISATION)
    context = _organisation_context(request, municipality, [Appointment.Role.LEADER])
    return render(request, "municipalities/municipality_leaders.html", context)


def _appoint(request, organisation, roles, back):
    roles = [r for r in roles if access.may_appoint(request.user, r, organisation)]
    if not roles:
        authority_id = getattr(organisation, "authority_id", organisation.pk)
        _log_refused(request, audit.Action.APPOINT, organisation, authority_id=authority_id)
        raise PermissionDenied
    form = AppointForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # a new login is kept only with its appointment
                appointments.appoint(
                    acting_user=request.user,
                    user=form.person(),
                    role=form.cleaned_data["role"],
                    organisation=organisation,
                    reason=form.cleaned_data["reason"],
                )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("The appointment is registered and takes effect now."))
            return back
    return render(
        request, "municipalities/appoint.html", {"organisation": organisation, "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def appoint_to_authority(request, pk):
    authority = _authority_for(request, pk, audit.Action.APPOINT)
    back = redirect("municipalities:authority_detail", pk=authority.pk)
    return _appoint(request, authority, AUTHORITY_ROLES, back)


@login_required
@require_http_methods(["GET", "POST"])
def appoint_leader(request, number):
    municipality = Municipality.objects.filter(number=number).first()
    if municipality is None or not access.may_appoint(
        request.user, Appointment.Role.LEADER, municipality
    ):
        authority_id = municipality.authority_id if municipality else None
        _log_refused(request, audit.Action.APPOINT, f"municipality:{number}", authority_id=authority_id)
        raise Http404
    back = redirect("municipalities:municipality_leaders", number=municipality.number)
    return _appoint(request, municipality, [Appointment.Role.LEADER], back)


@login_required
@require_http_methods(["GET", "POST"])
def end_appointment(request, pk):
    appointment = (
        Appointment.objects.select_related("user", "authority", "municipality")
        .filter(pk=pk, ended_at__isnull=True)
        .first()
    )
    if appointment is None or not access.may_end_appointment(request.user, appointment):
        authority_id = None
        if appointment is not None:
            authority_id = appointment.authority_id or appointment.municipality.authority_id
        _log_refused(request, audit.Action.END_APPOINTMENT, f"appointment:{pk}", authority_id=authority_id)
        raise Http404
    form = EndAppointmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointments.end_appointment(
                acting_user=request.user,
                appointment=appointment,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("The appointment has ended; the access is removed."))
            if appointment.authority_id:
                return redirect("municipalities:authority_detail", pk=appointment.authority_id)
            return redirect(
                "municipalities:municipality_leaders", number=appointment.municipality.number
            )
    return render(
        request, "municipalities/end_appointment.html", {"appointment": appointment, "form": form}
    )
