"""Who may see and administer which organisation. orders.access builds on these filters for
orders; the appointment pages and the municipality overview ask here directly.

A user acts for an organisation by holding a guardian permission on its row, directly or
through a group, kept in direct foreign-key tables.
"""

from dataclasses import dataclass

from django.db.models import Exists, Q, QuerySet

from audit import OPERATIONS, Capacity
from audit.models import Role

from .models import (
    ACT_FOR_AUTHORITY,
    ACT_FOR_MUNICIPALITY,
    ADMINISTER_AUTHORITY,
    AUDIT_AUTHORITY,
    Appointment,
    Authority,
    AuthorityGroupObjectPermission,
    AuthorityUserObjectPermission,
    HealthPersonnel,
    LoginIdentity,
    Municipality,
    MunicipalityGroupObjectPermission,
    MunicipalityUserObjectPermission,
)

ROLE_PERMISSIONS = {
    Appointment.Role.CASEWORKER: ACT_FOR_AUTHORITY,
    Appointment.Role.ADMINISTRATOR: ADMINISTER_AUTHORITY,
    Appointment.Role.SECURITY_OFFICER: AUDIT_AUTHORITY,
    Appointment.Role.LEADER: ACT_FOR_MUNICIPALITY,
}


def codename(perm: str) -> str:
    return perm.split(".", 1)[1]


def granted_q(user, perm, prefix: str) -> Q:
    """Filter on ``prefix`` (a path to an Authority or Municipality) for rows the user holds
    ``perm`` on, directly or through a group."""
    if perm == ACT_FOR_MUNICIPALITY:
        user_table, group_table = (
            MunicipalityUserObjectPermission,
            MunicipalityGroupObjectPermission,
        )
    else:
        user_table, group_table = AuthorityUserObjectPermission, AuthorityGroupObjectPermission
    name = codename(perm)
    direct = user_table.objects.filter(user=user, permission__codename=name)
    via_group = group_table.objects.filter(group__user=user, permission__codename=name)
    return Q(**{f"{prefix}__in": direct.values("content_object_id")}) | Q(
        **{f"{prefix}__in": via_group.values("content_object_id")}
    )


def _authorities(user, perm) -> QuerySet[Authority]:
    if not user.is_authenticated or not user.is_active:
        return Authority.objects.none()
    return Authority.objects.filter(granted_q(user, perm, "pk"))


def caseworker_authorities(user) -> QuerySet[Authority]:
    return _authorities(user, ACT_FOR_AUTHORITY)


def administered_authorities(user) -> QuerySet[Authority]:
    return _authorities(user, ADMINISTER_AUTHORITY)


def audited_authorities(user) -> QuerySet[Authority]:
    """Authorities whose access log the user may search and export (security officer)."""
    return _authorities(user, AUDIT_AUTHORITY)


@dataclass(frozen=True)
class AuditScope:
    """The access events a security officer may search: those overseen by the authorities
    they audit, and (Helsetilsynet only) those that belong to no authority."""

    authority_ids: tuple[int, ...] = ()
    authority_names: tuple[str, ...] = ()
    include_unassigned: bool = False
    # Who is searching, for the log of the search itself.
    capacity: Capacity = Capacity()

    def __bool__(self):
        return bool(self.authority_ids)


def audit_scope(user) -> AuditScope:
    """Need-to-know for the access log: a security officer sees their own authority's events;
    Statens helsetilsyn's also sees events that no authority oversees (the national
    supervisory authority answers for the service as a whole). Falsy for everybody else."""
    rows = list(audited_authorities(user).order_by("pk").values_list("pk", "name", "kind"))
    if not rows:
        return AuditScope()
    return AuditScope(
        authority_ids=tuple(pk for pk, _name, _kind in rows),
        authority_names=tuple(name for _pk, name, _kind in rows),
        include_unassigned=any(kind == Authority.Kind.HELSETILSYNET for _pk, _n, kind in rows),
        capacity=Capacity(Role.SECURITY_OFFICER, rows[0][1], rows[0][0]),
    )


def member_authorities(user) -> QuerySet[Authority]:
    """Authorities the user works for, as caseworker, administrator or security officer."""
    if not user.is_authenticated or not user.is_active:
        return Authority.objects.none()
    return Authority.objects.filter(
        granted_q(user, ACT_FOR_AUTHORITY, "pk")
        | granted_q(user, ADMINISTER_AUTHORITY, "pk")
        | granted_q(user, AUDIT_AUTHORITY, "pk")
    )


def led_municipalities(user) -> QuerySet[Municipality]:
    if not user.is_authenticated or not user.is_active:
        return Municipality.objects.none()
    return Municipality.objects.filter(granted_q(user, ACT_FOR_MUNICIPALITY, "pk"))


def _covered_q(authorities, prefix="") -> Q:
    """Municipalities covered by ``authorities``: a statsforvalter its own; Helsetilsynet all."""
    national = Exists(authorities.filter(kind=Authority.Kind.HELSETILSYNET))
    # An empty Q() would mean "all" alone but vanishes inside an OR; Exists keeps its meaning.
    return Q(**{f"{prefix}authority__in": authorities.values("pk")}) | Q(national)


def overseen_municipalities(user) -> QuerySet[Municipality]:
    """Municipalities whose overview the user may see: those they lead, and those covered by
    an authority they work for (Helsetilsynet: all)."""
    if not user.is_authenticated or not user.is_active:
        return Municipality.objects.none()
    return Municipality.objects.filter(
        granted_q(user, ACT_FOR_MUNICIPALITY, "pk") | _covered_q(member_authorities(user))
    )


def may_view_authority(user, authority) -> bool:
    return member_authorities(user).filter(pk=authority.pk).exists()


def is_operator(user) -> bool:
    """An operator (Drift): an active Django superuser, made with `manage.py createsuperuser`.
    They use the operators' admin site (config/admin.py; its own rule adds two-factor), hold no
    role in the app's cases (User.has_perm), and may appoint and end appointments of any
    organisation there: the first administrator of an authority, or a leader whose
    administrators are gone. The other rules of appointing hold for them as for anyone."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def may_end_appointment(user, appointment) -> bool:
    """The same people who may appoint to the organisation, also after a municipality has
    ceased (its leaders must still be removable)."""
    if is_operator(user):
        return True
    organisation = appointment.organisation
    if appointment.role == Appointment.Role.LEADER:
        return (
            administered_authorities(user)
            .filter(Q(kind=Authority.Kind.HELSETILSYNET) | Q(pk=organisation.authority_id))
            .exists()
        )
    return administered_authorities(user).filter(pk=organisation.pk).exists()


def may_unlock(user, authority) -> bool:
    """An authority's administrators open the locked accounts of the people who act for it."""
    return administered_authorities(user).filter(pk=authority.pk).exists()


def appoints_self(user, appointee) -> bool:
    """Separation of duties: nobody grants themself a role, whatever they administer (a
    caseworker, security officer or administrator who appointed themself would answer to no
    one); another administrator must. appointments.appoint refuses it with this reason."""
    return user is not None and appointee is not None and user.pk == appointee.pk


def may_appoint(user, role, organisation) -> bool:
    """An administrator appoints within their own authority and, for municipal leaders, in the
    municipalities it covers — never wider than their own grant, and never themself
    (appoints_self, checked once the appointee is known). An operator (is_operator) appoints
    in any authority and any current municipality, never themself either."""
    administered = administered_authorities(user)
    if role == Appointment.Role.LEADER:
        if not isinstance(organisation, Municipality) or not organisation.is_current:
            return False
        return (
            is_operator(user)
            or administered.filter(
                Q(kind=Authority.Kind.HELSETILSYNET) | Q(pk=organisation.authority_id)
            ).exists()
        )
    if not isinstance(organisation, Authority):
        return False
    return is_operator(user) or administered.filter(pk=organisation.pk).exists()


def capacity_of(user) -> Capacity:
    """The capacity a user acts in outside any one case, for the access log: their authority
    (caseworker before administrator before security officer), else the municipality they
    lead, else themselves as health personnel (not "the health personnel concerned": that is
    a capacity on one's own case, orders.access.capacity_on), else an operator's (Drift). The
    overseeing authority is the one whose security officer should see the event."""
    if not user.is_authenticated:
        return Capacity()
    for perm, role in (
        (ACT_FOR_AUTHORITY, Role.CASEWORKER),
        (ADMINISTER_AUTHORITY, Role.ADMINISTRATOR),
        (AUDIT_AUTHORITY, Role.SECURITY_OFFICER),
    ):
        authority = _authorities(user, perm).order_by("pk").first()
        if authority is not None:
            return Capacity(role, authority.name, authority.pk)
    municipality = led_municipalities(user).order_by("number").first()
    if municipality is not None:
        return Capacity(Role.LEADER, municipality.name, municipality.authority_id)
    personnel = (
        HealthPersonnel.objects.filter(user=user).values_list("municipality__authority", flat=True)
    ).first()
    if personnel is not None:
        return Capacity(Role.HEALTH_PERSONNEL, "", personnel)
    return OPERATIONS if is_operator(user) else Capacity()


def leaders_of(municipality):
    """The active users who act for the municipality (its leaders), directly or by group."""
    from .models import User

    name = codename(ACT_FOR_MUNICIPALITY)
    direct = MunicipalityUserObjectPermission.objects.filter(
        content_object=municipality, permission__codename=name
    ).values("user")
    via_group = MunicipalityGroupObjectPermission.objects.filter(
        content_object=municipality, permission__codename=name
    ).values("group")
    return User.objects.filter(
        Q(pk__in=direct) | Q(groups__in=via_group), is_active=True
    ).distinct()


def has_logged_in(user) -> bool:
    """Whether the person has a way in already: a password, a bound OpenID Connect login, or
    a login on record. Such a person is never sent an invitation."""
    return (
        user.has_usable_password()
        or user.last_login is not None
        or LoginIdentity.objects.filter(user=user).exists()
    )
