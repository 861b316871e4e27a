"""Appointing and removing the people who act for an organisation (the writes behind the
appointment pages). Each grant is a guardian permission plus an Appointment row with the
reason, both in one transaction, so access and its account never disagree."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

import audit

from . import user_sessions
from .access import ROLE_PERMISSIONS, OrganisationCapabilities, appoints_self
from .bounds import check_values
from .models import Appointment, Authority, HealthPersonnel, Municipality, User

# Reasons from the apps built on this one for refusing an appointment: each check is called
# with user, role and organisation (keywords) and returns the reason, or "". orders registers
# one in its AppConfig.ready (the subject of an open case is not its authority's caseworker),
# so the rule stays in orders.access while this module imports nothing above it.
_conflict_checks = []


def register_conflict_check(check):
    if check not in _conflict_checks:
        _conflict_checks.append(check)
    return check


def _refuse_conflicts(*, acting_user, user, role, organisation):
    if appoints_self(acting_user, user):
        raise ValidationError(_("You cannot appoint yourself. Another administrator must do it."))
    for check in _conflict_checks:
        reason = check(user=user, role=role, organisation=organisation)
        if reason:
            raise ValidationError(reason)


def _organisation_fields(role, organisation):
    if role == Appointment.Role.LEADER:
        if not isinstance(organisation, Municipality):
            raise ValidationError(_("A municipal leader is appointed for a municipality."))
        return {"municipality": organisation}
    if not isinstance(organisation, Authority):
        raise ValidationError(_("Caseworkers and administrators are appointed for an authority."))
    return {"authority": organisation}


def appoint(*, acting_user, user, role, organisation, reason, system=False) -> Appointment:
    """Grant ``user`` the ``role`` for ``organisation``.

    ``system=True`` is for bootstrapping from a management command, where no administrator
    exists yet; the web pages never pass it. Otherwise the separation of duties holds: not
    oneself, and not into a conflict a registered check names (both with the reason).
    """
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the appointment.")})
    check_values(Appointment, reason=reason)
    # Asked of the database now, not of the request's capabilities: a grant ended a moment ago
    # must not appoint.
    if not system and not OrganisationCapabilities.of(acting_user).may_appoint(role, organisation):
        raise PermissionDenied
    fields = _organisation_fields(role, organisation)
    if not system:
        _refuse_conflicts(acting_user=acting_user, user=user, role=role, organisation=organisation)
    with audit.acting_as(acting_user), transaction.atomic():
        if Appointment.objects.filter(
            user=user, role=role, ended_at__isnull=True, **fields
        ).exists():
            raise ValidationError(_("%(user)s already has this role here.") % {"user": user})
        appointment = Appointment.objects.create(
            user=user, role=role, reason=reason, appointed_by=acting_user, **fields
        )
        assign_perm(ROLE_PERMISSIONS[role], user, organisation)
    return appointment


def end_appointment(*, acting_user, appointment, reason) -> Appointment:
    """Remove the grant at once; the appointment row stays, marked ended, with the reason."""
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for ending the appointment.")})
    check_values(Appointment, {"end_reason": "reason"}, end_reason=reason)
    with audit.acting_as(acting_user), transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if appointment.ended_at is not None:
            raise ValidationError(_("This appointment has already ended."))
        if not OrganisationCapabilities.of(acting_user).may_end_appointment(appointment):
            raise PermissionDenied
        appointment.ended_at = timezone.now()
        appointment.ended_by = acting_user
        appointment.end_reason = reason
        appointment.save()
        still_held = Appointment.objects.filter(
            user=appointment.user,
            role=appointment.role,
            authority=appointment.authority,
            municipality=appointment.municipality,
            ended_at__isnull=True,
        ).exists()
        if not still_held:
            remove_perm(
                ROLE_PERMISSIONS[appointment.role], appointment.user, appointment.organisation
            )
        user_sessions.end_sessions_if_no_appointment(appointment.user, acting_user=acting_user)
    return appointment


def link_login(*, acting_user, user, hpr_number) -> HealthPersonnel:
    """Link a login to the health personnel record with this HPR number, so the person sees
    the orders about themself. With HelseID the HPR number arrives in the login token; until
    then an administrator links it (manage.py link_gp_login)."""

    with audit.acting_as(acting_user), transaction.atomic():
        try:
            personnel = HealthPersonnel.objects.select_for_update().get(hpr_number=hpr_number)
        except HealthPersonnel.DoesNotExist:
            raise ValidationError(
                _("No health personnel with HPR number %(hpr)s is registered.")
                % {"hpr": hpr_number}
            ) from None
        if personnel.user_id == user.pk:
            return personnel
        if personnel.user_id is not None:
            raise ValidationError(
                _("HPR number %(hpr)s is already linked to another login.") % {"hpr": hpr_number}
            )
        if HealthPersonnel.objects.filter(user=user).exists():
            raise ValidationError(_("This login is already linked to another HPR number."))
        personnel.user = user
        personnel.save()
    return personnel


def new_login(*, username, first_name, last_name, email="") -> User:
    """A login for someone brought in by an appointment, a command or a leader naming a
    supervisor: no password (an invitation, or HelseID by HPR number, lets them in)."""
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    return user


def change_person(
    *, acting_user, user, first_name, last_name, email, is_active, request=None
) -> User:
    """Correct a person's name or e-mail address, or deactivate (or reactivate) their login.
    A deactivated person's sessions end at once, logged as ended by ``acting_user`` (the save
    receiver in login_events ends them too, but knows no one who did it)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        deactivated = user.is_active and not is_active
        user.first_name, user.last_name, user.email = first_name, last_name, email
        user.is_active = is_active
        user.full_clean()
        if deactivated:
            user_sessions.end_sessions(
                user, reason=user_sessions.DEACTIVATED, acting_user=acting_user, request=request
            )
        user.save()
    return user


def names_from_register(personnel) -> tuple[str, str]:
    """First and last name from the register's one name field ("Kari Nordmann")."""
    first, _space, last = personnel.name.rpartition(" ")
    return first or last, last


def ensure_login(*, acting_user, personnel) -> User:
    """The person's login, created (without a password: login is through HelseID) if they have
    none, so a supervisor can see the orders they supervise."""
    if personnel.user_id is not None:
        return personnel.user
    first, last = names_from_register(personnel)
    with audit.acting_as(acting_user), transaction.atomic():
        # hpr<number>, or hpr<number>-2, … if an unlinked login already has the name.
        base = username = f"hpr{personnel.hpr_number}"
        suffix = 1
        while User.objects.filter(username=username).exists():
            suffix += 1
            username = f"{base}-{suffix}"
        user = new_login(username=username, first_name=first, last_name=last)
        personnel.user = user
        personnel.save()
    return user
