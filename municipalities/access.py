"""Who may see and administer which organisation: the user's grants resolved once into an
OrganisationCapabilities object, which orders.access extends for orders; the appointment
pages, the municipality overview and the course catalog ask it.

A user acts for an organisation by holding a guardian permission on its row, directly or
through a group, kept in direct foreign-key tables.
"""

from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import CharField, F, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce

from audit import OPERATIONS, Capacity
from audit.models import Role
from config.together import compiled_once

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
    User,
)

ROLE_PERMISSIONS = {
    Appointment.Role.CASEWORKER: ACT_FOR_AUTHORITY,
    Appointment.Role.ADMINISTRATOR: ADMINISTER_AUTHORITY,
    Appointment.Role.SECURITY_OFFICER: AUDIT_AUTHORITY,
    Appointment.Role.LEADER: ACT_FOR_MUNICIPALITY,
}


def codename(perm: str) -> str:
    return perm.split(".", 1)[1]


@dataclass(frozen=True)
class AuthorityGrant:
    """An authority the user holds a role for: enough to name it and to know its reach."""

    pk: int
    name: str
    kind: str

    @property
    def national(self) -> bool:
        """Statens helsetilsyn reaches every municipality."""
        return self.kind == Authority.Kind.HELSETILSYNET


@dataclass(frozen=True)
class LedMunicipality:
    pk: int
    number: str
    name: str
    authority_id: int


@dataclass(frozen=True)
class PersonnelRecord:
    """The user's own health-personnel record (HPR), and the authority over where they work."""

    pk: int
    name: str
    authority_id: int


# One row of the grant query: where it came from, the object's id, the permission's codename,
# and what the capability needs of the object (a name, a kind, a related id, a number).
GRANT_COLUMNS = ("source", "obj", "codename", "name", "kind", "ref", "number")


def grant_rows(
    queryset, source, *, obj, codename=None, name=None, kind=None, ref=None, number=None
):
    """``queryset`` as rows of GRANT_COLUMNS, ready to be UNION ALL'ed with the others."""

    def text(path):
        return Coalesce(F(path), Value(""), output_field=CharField()) if path else Value("")

    columns = {
        "cap_source": Value(source, output_field=CharField()),
        "cap_obj": F(obj),
        "cap_codename": text(codename),
        "cap_name": text(name),
        "cap_kind": text(kind),
        # A typed NULL: PostgreSQL types an untyped one as text when two meet in a UNION.
        "cap_ref": F(ref) if ref else Cast(Value(None), IntegerField()),
        "cap_number": text(number),
    }
    return queryset.order_by().annotate(**columns).values_list(*columns)


def caseworker_of(table, **holder) -> QuerySet:
    """Ids of the authorities ``table`` (a guardian table) makes the holder caseworker for."""
    return table.objects.filter(permission__codename=codename(ACT_FOR_AUTHORITY), **holder).values(
        "content_object_id"
    )


def permission_rows(user, user_table, group_table, source, **columns) -> list:
    """The user's guardian permissions in a direct foreign-key pair of tables, held directly
    and through their groups, as grant rows."""
    columns = {"obj": "content_object_id", "codename": "permission__codename", **columns}
    return [
        grant_rows(user_table.objects.filter(user=user), source, **columns),
        grant_rows(group_table.objects.filter(group__user=user), source, **columns),
    ]


@dataclass(frozen=True)
class OrganisationCapabilities:
    """The organisations a user acts for, resolved once (one query: ``of``) and asked
    everywhere: which authorities they act for per role, the municipalities they lead, their
    own health-personnel record, whether they are an operator. orders.access extends it with
    single-order grants and supervision; a request carries one (request.capabilities).

    Grants are guardian permissions on an Authority or Municipality row, directly or through a
    group (direct foreign-key tables). As guardian's has_perm, an inactive user holds none."""

    user_id: int | None = None
    active: bool = False
    operator: bool = False
    caseworker_for: tuple[AuthorityGrant, ...] = ()
    administers: tuple[AuthorityGrant, ...] = ()
    audits: tuple[AuthorityGrant, ...] = ()
    leads: tuple[LedMunicipality, ...] = ()
    personnel: tuple[PersonnelRecord, ...] = ()
    # The municipalities under the authorities they are caseworker for: a list of ids filters
    # orders and their next deadlines on an index, where "the municipality's authority" is a
    # join that made PostgreSQL scan every order at 100,000 (orders.access.full_case_q).
    covered_municipality_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, user):
        """The user's capabilities as the database has them now: one query (none for an
        anonymous user). Services that re-check under a lock build a fresh one."""
        if user is None or not user.is_authenticated:
            return cls()
        sql, params, user_slots = cls.grant_query(DEFAULT_DB_ALIAS)
        params = [user.pk if i in user_slots else p for i, p in enumerate(params)]
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return cls(
            **cls.fields_from(user, [dict(zip(GRANT_COLUMNS, r, strict=True)) for r in rows])
        )

    @classmethod
    @cache
    def grant_query(cls, alias) -> tuple[str, tuple, frozenset[int]]:
        """The UNION ALL of grant_sources as SQL, its parameters, and which of them are the
        user's id. Composed and compiled once per class and database: the ORM takes some
        10–30 ms of Python to compile the union, on every request and every service's
        re-check, where running it takes well under one. The user's id is its only variable;
        its places are those that differ between two compilations for different ids."""

        def compiled(user_id):
            sources = cls.grant_sources(user_id)
            union = sources[0].union(*sources[1:], all=True)
            return union.query.get_compiler(using=alias).as_sql()

        return compiled_once(compiled, probes=(1, 2))

    @classmethod
    def grant_sources(cls, user) -> list:
        """The querysets (rows of GRANT_COLUMNS) the capabilities are read from, for a user
        or their id. They filter on the user alone: grant_query compiles them once."""
        return [
            *permission_rows(
                user,
                AuthorityUserObjectPermission,
                AuthorityGroupObjectPermission,
                "authority",
                name="content_object__name",
                kind="content_object__kind",
            ),
            *permission_rows(
                user,
                MunicipalityUserObjectPermission,
                MunicipalityGroupObjectPermission,
                "municipality",
                name="content_object__name",
                ref="content_object__authority_id",
                number="content_object__number",
            ),
            grant_rows(
                Municipality.objects.filter(
                    Q(authority_id__in=caseworker_of(AuthorityUserObjectPermission, user=user))
                    | Q(
                        authority_id__in=caseworker_of(
                            AuthorityGroupObjectPermission, group__user=user
                        )
                    )
                ),
                "covered",
                obj="pk",
                ref="authority_id",
            ),
            grant_rows(
                HealthPersonnel.objects.filter(user=user),
                "personnel",
                obj="pk",
                name="name",
                ref="municipality__authority_id",
            ),
        ]

    @classmethod
    def fields_from(cls, user, rows) -> dict:
        """The dataclass fields from the grant rows (subclasses add theirs)."""
        active = user.is_active
        granted = [r for r in rows if active]

        def authorities(perm):
            found = {
                r["obj"]: AuthorityGrant(r["obj"], r["name"], r["kind"])
                for r in granted
                if r["source"] == "authority" and r["codename"] == codename(perm)
            }
            return tuple(found[pk] for pk in sorted(found))

        led = {
            r["obj"]: LedMunicipality(r["obj"], r["number"], r["name"], r["ref"])
            for r in granted
            if r["source"] == "municipality" and r["codename"] == codename(ACT_FOR_MUNICIPALITY)
        }
        # Kept for an inactive user too: being the person an order concerns is no grant.
        personnel = {
            r["obj"]: PersonnelRecord(r["obj"], r["name"], r["ref"])
            for r in rows
            if r["source"] == "personnel"
        }
        return {
            "user_id": user.pk,
            "active": active,
            "operator": is_operator(user),
            "caseworker_for": authorities(ACT_FOR_AUTHORITY),
            "administers": authorities(ADMINISTER_AUTHORITY),
            "audits": authorities(AUDIT_AUTHORITY),
            "leads": tuple(sorted(led.values(), key=lambda m: (m.number, m.pk))),
            "personnel": tuple(sorted(personnel.values(), key=lambda p: (p.name, p.pk))),
            "covered_municipality_ids": tuple(
                sorted({r["obj"] for r in granted if r["source"] == "covered"})
            ),
        }

    # --- the organisations, as ids and querysets -------------------------------------------

    @property
    def caseworker_authority_ids(self) -> list[int]:
        return [a.pk for a in self.caseworker_for]

    @property
    def led_municipality_ids(self) -> list[int]:
        return [m.pk for m in self.leads]

    @property
    def personnel_ids(self) -> list[int]:
        return [p.pk for p in self.personnel]

    @property
    def national_caseworker(self) -> bool:
        """A caseworker of Helsetilsynet: sees the cases of every municipality."""
        return any(a.national for a in self.caseworker_for)

    @property
    def member_of(self) -> tuple[AuthorityGrant, ...]:
        """Authorities the user works for, as caseworker, administrator or security officer."""
        found = {a.pk: a for a in (*self.caseworker_for, *self.administers, *self.audits)}
        return tuple(found[pk] for pk in sorted(found))

    def caseworker_authorities(self) -> QuerySet[Authority]:
        return Authority.objects.filter(pk__in=self.caseworker_authority_ids)

    def member_authorities(self) -> QuerySet[Authority]:
        return Authority.objects.filter(pk__in=[a.pk for a in self.member_of])

    def led_municipalities(self) -> QuerySet[Municipality]:
        return Municipality.objects.filter(pk__in=self.led_municipality_ids)

    def overseen_municipalities(self) -> QuerySet[Municipality]:
        """Municipalities whose overview the user may see: those they lead, and those covered
        by an authority they work for (a statsforvalter its own; Helsetilsynet all)."""
        member = self.member_of
        if any(a.national for a in member):
            return Municipality.objects.all()
        return Municipality.objects.filter(
            Q(pk__in=self.led_municipality_ids) | Q(authority_id__in=[a.pk for a in member])
        )

    @property
    def oversees_municipalities(self) -> bool:
        """Whether the overview of any municipality is theirs (the menu's flag)."""
        return bool(self.leads or self.member_of)

    # --- checks ----------------------------------------------------------------------------

    def acts_for_authority(self, authority) -> bool:
        return authority.pk in self.caseworker_authority_ids

    def acts_for_municipality(self, municipality) -> bool:
        return municipality.pk in self.led_municipality_ids

    def may_view_authority(self, authority) -> bool:
        return any(a.pk == authority.pk for a in self.member_of)

    def _administers_for_municipality(self, municipality) -> bool:
        """An administrator of Helsetilsynet, or of the statsforvalter covering it."""
        return any(a.national or a.pk == municipality.authority_id for a in self.administers)

    def _administers(self, authority) -> bool:
        return any(a.pk == authority.pk for a in self.administers)

    def may_end_appointment(self, appointment) -> bool:
        """The same people who may appoint to the organisation, also after a municipality has
        ceased (its leaders must still be removable)."""
        if self.operator:
            return True
        if appointment.role == Appointment.Role.LEADER:
            return self._administers_for_municipality(appointment.organisation)
        return self._administers(appointment.organisation)

    def may_unlock(self, authority) -> bool:
        """An authority's administrators open the locked accounts of the people who act for it."""
        return self._administers(authority)

    def may_appoint(self, role, organisation) -> bool:
        """An administrator appoints within their own authority and, for municipal leaders, in
        the municipalities it covers — never wider than their own grant, and never themself
        (appoints_self, checked once the appointee is known). An operator (is_operator)
        appoints in any authority and any current municipality, never themself either."""
        if role == Appointment.Role.LEADER:
            if not isinstance(organisation, Municipality) or not organisation.is_current:
                return False
            return self.operator or self._administers_for_municipality(organisation)
        if not isinstance(organisation, Authority):
            return False
        return self.operator or self._administers(organisation)

    def may_edit_courses(self) -> bool:
        """The course catalog is kept by authority administrators."""
        return bool(self.administers)

    def has_two_factor_role(self) -> bool:
        """Administrators and security officers: by their grant, so that also the first
        administrator (appointed by command, without an Appointment row) is asked."""
        return bool(self.administers or self.audits)

    # --- the access log --------------------------------------------------------------------

    def capacity(self) -> Capacity:
        """The capacity the user acts in outside any one case, for the access log: their
        authority (caseworker before administrator before security officer), else the
        municipality they lead, else themselves as health personnel (not "the health
        personnel concerned": that is a capacity on one's own case, orders.access), else an
        operator's (Drift). The overseeing authority is the one whose security officer should
        see the event."""
        if self.user_id is None:
            return Capacity()
        for authorities, role in (
            (self.caseworker_for, Role.CASEWORKER),
            (self.administers, Role.ADMINISTRATOR),
            (self.audits, Role.SECURITY_OFFICER),
        ):
            if authorities:
                return Capacity(role, authorities[0].name, authorities[0].pk)
        if self.leads:
            return Capacity(Role.LEADER, self.leads[0].name, self.leads[0].authority_id)
        if self.personnel:
            return Capacity(Role.HEALTH_PERSONNEL, "", self.personnel[0].authority_id)
        return OPERATIONS if self.operator else Capacity()

    def audit_scope(self) -> "AuditScope":
        """Need-to-know for the access log: a security officer sees their own authority's
        events; Statens helsetilsyn's also sees events that no authority oversees (the
        national supervisory authority answers for the service as a whole). Falsy for
        everybody else."""
        if not self.audits:
            return AuditScope()
        first = self.audits[0]
        return AuditScope(
            authority_ids=tuple(a.pk for a in self.audits),
            authority_names=tuple(a.name for a in self.audits),
            include_unassigned=any(a.national for a in self.audits),
            capacity=Capacity(Role.SECURITY_OFFICER, first.name, first.pk),
        )


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


def is_operator(user) -> bool:
    """An operator (Drift): an active Django superuser, made with `manage.py createsuperuser`.
    They use the operators' admin site (config/admin.py; its own rule adds two-factor), hold no
    role in the app's cases (User.has_perm), and may appoint and end appointments of any
    organisation there: the first administrator of an authority, or a leader whose
    administrators are gone. The other rules of appointing hold for them as for anyone."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def appoints_self(user, appointee) -> bool:
    """Separation of duties: nobody grants themself a role, whatever they administer (a
    caseworker, security officer or administrator who appointed themself would answer to no
    one); another administrator must. appointments.appoint refuses it with this reason."""
    return user is not None and appointee is not None and user.pk == appointee.pk


def leaders_of(municipality):
    """The active users who act for the municipality (its leaders), directly or by group."""
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
