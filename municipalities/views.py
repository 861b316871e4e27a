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

from . import appointments, invitations, lockout, selectors
from .forms import AppointForm, EndAppointmentForm
from .models import Appointment, Authority, Invitation, Municipality

AUTHORITY_ROLES = [
    Appointment.Role.CASEWORKER,
    Appointment.Role.ADMINISTRATOR,
    Appointment.Role.SECURITY_OFFICER,
]


def _log_refused(request, action, target, *, authority_id=None):
    """Log a refusal under the authority whose organisation was probed, so that its security
    officer sees it."""
    capacity = request.capabilities.capacity()
    if authority_id is not None:
        capacity = audit.Capacity(capacity.role, capacity.organisation, authority_id)
    audit.record(
        request=request, action=action, target=target, outcome="refused", capacity=capacity
    )


def _authority_for(request, pk, action) -> Authority:
    authority = request.capabilities.member_authorities().filter(pk=pk).first()
    if authority is None:
        probed = Authority.objects.filter(pk=pk).values_list("pk", flat=True).first()
        _log_refused(request, action, f"authority:{pk}", authority_id=probed)
        raise Http404
    return authority


def _municipality_for(request, number, action) -> Municipality:
    municipality = request.capabilities.overseen_municipalities().filter(number=number).first()
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
    shown = list(selectors.appointments_of(organisation))
    statuses = selectors.invitation_statuses({a.user for a in shown if not a.ended_at})
    capabilities = request.capabilities
    may_invite = {r: capabilities.may_appoint(r, organisation) for r in roles}
    for a in shown:
        a.login_status = statuses.get(a.user_id)
        a.may_invite = may_invite.get(a.role, False)
    return {
        "organisation": organisation,
        "appointments": shown,
        "history": list(selectors.appointment_history_of(organisation)[:200]),
        "may_appoint": any(may_invite.values()),
        "may_end": any(
            capabilities.may_end_appointment(Appointment(role=r, **_field(organisation)))
            for r in roles
        ),
    }


@login_required
def authority_detail(request, pk):
    authority = _authority_for(request, pk, audit.Action.VIEW_ORGANISATION)
    context = _organisation_context(request, authority, AUTHORITY_ROLES)
    context["covered"] = authority.municipalities.filter(valid_to__isnull=True).count()
    if request.capabilities.may_unlock(authority):
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
    if person is None or not request.capabilities.may_unlock(authority):
        _log_refused(request, audit.Action.UNLOCK, authority, authority_id=authority.pk)
        raise PermissionDenied
    lockout.unlock(
        acting_user=request.user,
        user=person.user,
        request=request,
        capacity=request.capabilities.capacity(),
    )
    messages.success(
        request, _("The account is open: %(who)s can log in again.") % {"who": person.user}
    )
    return redirect("municipalities:authority_detail", pk=authority.pk)


@login_required
def municipality_leaders(request, number):
    municipality = _municipality_for(request, number, audit.Action.VIEW_ORGANISATION)
    context = _organisation_context(request, municipality, [Appointment.Role.LEADER])
    return render(request, "municipalities/municipality_leaders.html", context)


def _appoint(request, organisation, roles, back):
    roles = [r for r in roles if request.capabilities.may_appoint(r, organisation)]
    if not roles:
        authority_id = getattr(organisation, "authority_id", organisation.pk)
        _log_refused(request, audit.Action.APPOINT, organisation, authority_id=authority_id)
        raise PermissionDenied
    form = AppointForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            # A new login is kept only with its appointment, and its invitation with both.
            with transaction.atomic():
                person = form.person()
                appointments.appoint(
                    acting_user=request.user,
                    user=person,
                    role=form.cleaned_data["role"],
                    organisation=organisation,
                    reason=form.cleaned_data["reason"],
                )
                invitation = invitations.invite_if_needed(
                    acting_user=request.user, user=person, request=request
                )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("The appointment is registered and takes effect now."))
            if invitation is not None:
                messages.info(request, invitations.sent_message(invitation))
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
    if municipality is None or not request.capabilities.may_appoint(
        Appointment.Role.LEADER, municipality
    ):
        authority_id = municipality.authority_id if municipality else None
        _log_refused(
            request, audit.Action.APPOINT, f"municipality:{number}", authority_id=authority_id
        )
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
    if appointment is None or not request.capabilities.may_end_appointment(appointment):
        authority_id = None
        if appointment is not None:
            authority_id = appointment.authority_id or appointment.municipality.authority_id
        _log_refused(
            request, audit.Action.END_APPOINTMENT, f"appointment:{pk}", authority_id=authority_id
        )
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


def _managed_invitation(request, pk, action):
    """The invitation and the organisation page to go back to, if the user may appoint its
    person to a role they hold there (sending them in is part of appointing them); otherwise
    a logged refusal and 404."""
    invitation = Invitation.objects.select_related("user").filter(pk=pk).first()
    held = []
    if invitation is not None:
        held = list(
            Appointment.objects.filter(user=invitation.user_id, ended_at__isnull=True)
            .select_related("authority", "municipality")
            .order_by("pk")
        )
    for a in held:
        if request.capabilities.may_appoint(a.role, a.organisation):
            if a.authority_id:
                return invitation, redirect("municipalities:authority_detail", pk=a.authority_id)
            return invitation, redirect(
                "municipalities:municipality_leaders", number=a.municipality.number
            )
    authority_id = next((a.authority_id or a.municipality.authority_id for a in held), None)
    _log_refused(request, action, f"invitation:{pk}", authority_id=authority_id)
    raise Http404


def _resend(request, invitation):
    who = {"who": invitation.user}
    if invitations.has_logged_in(invitation.user):
        messages.warning(
            request, _("%(who)s has logged in already; no invitation is needed.") % who
        )
    elif not invitation.user.email:
        messages.warning(request, _("%(who)s has no e-mail address; no invitation was sent.") % who)
    else:
        fresh, _link = invitations.resend(
            acting_user=request.user, invitation=invitation, request=request
        )
        messages.success(request, invitations.sent_message(fresh))


def _revoke(request, invitation):
    revoked = invitations.revoke(acting_user=request.user, invitation=invitation, request=request)
    if revoked.state == Invitation.State.REVOKED:
        messages.success(request, _("The invitation is revoked; its link no longer works."))
    else:
        messages.info(
            request,
            _("The invitation was not revoked: it is %(state)s.")
            % {"state": revoked.get_state_display().lower()},
        )


INVITATION_ACTIONS = {
    "resend": (audit.Action.INVITATION_SEND, _resend),
    "revoke": (audit.Action.INVITATION_REVOKE, _revoke),
}


@login_required
@require_http_methods(["GET", "POST"])
def invitation_action(request, pk, action):
    """Send a new link, or withdraw the link, from the appointment page (POST; a GET goes
    back to the page)."""
    logged_as, act = INVITATION_ACTIONS[action]
    invitation, back = _managed_invitation(request, pk, logged_as)
    if request.method == "POST":
        act(request, invitation)
    return back
