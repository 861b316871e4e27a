"""A world with two of everything, for the generated leak test and the form fuzz: two
statsforvaltere with a municipality, a case, its measures, meetings, sessions, documents, an
appeal, an extension, notifications and appointments each, plus Helsetilsynet. Built once per
module through the services (tests/orders/lifecycle.py), as the people concerned would.

Also the module-scoped database fixture both modules share, and the row snapshot that tells
whether a request wrote anything. Not a test module itself.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django import forms
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone
from guardian.shortcuts import assign_perm

from courses.models import Course, Measure
from municipalities import appointments, invitations
from municipalities.models import AUDIT_AUTHORITY, Appointment
from orders import services
from orders.models import ACT_AS_CASEWORKER, Notification
from tests import factories
from tests.orders import lifecycle

# What identifies a case and its person in a page: none of it may reach an outsider.
SIDES = ("A", "B")


@dataclass
class Side:
    """One statsforvalter's corner of the world, and everything in it."""

    name: str
    authority: object = None
    municipality: object = None
    caseworker: object = None
    leader: object = None
    gp: object = None  # HealthPersonnel the order is about
    supervisor: object = None  # HealthPersonnel who supervises (gets a login when planned)
    order: object = None
    course_measure: object = None
    supervision_measure: object = None
    meeting: object = None
    document: object = None
    appeal: object = None
    task: object = None
    notification: object = None
    appointment: object = None
    leader_appointment: object = None
    invitation: object = None  # to a caseworker appointed here who has not logged in yet
    invitation_token: str = ""  # its link's token (kept only by the test)

    def secrets(self) -> list[str]:
        """Strings that only someone who may see this side's case may ever be shown."""
        return [self.order.case_number, self.gp.name, self.gp.hpr_number]

    def grounds(self) -> str:
        """Why the order was given: for the authority, the municipality and the person
        concerned, not for a supervisor (issue 10, point 3)."""
        return self.order.grounds_summary


@dataclass
class ProbeWorld:
    A: Side
    B: Side
    helsetilsynet: object
    course: object
    users: dict = field(default_factory=dict)  # role name -> User (None: anonymous)

    def side(self, name) -> Side:
        return getattr(self, name)


# Names in plain ASCII so a page's encoding cannot hide them from the search.
PEOPLE = {
    "A": {"gp": ("Arnfinn Subjektsen", "9100001"), "supervisor": ("Aud Veiledersen", "9100009")},
    "B": {"gp": ("Bjarne Fremmedlege", "9200002"), "supervisor": ("Berit Veilederud", "9200009")},
}


def _side(name, authority, municipality, course):
    today = timezone.localdate()
    side = Side(name=name, authority=authority, municipality=municipality)
    tag = name.lower()
    side.caseworker = factories.caseworker_for(authority, username=f"saksbehandler.{tag}")
    side.leader = factories.leader_for(municipality, username=f"leder.{tag}")
    gp_name, gp_hpr = PEOPLE[name]["gp"]
    sup_name, sup_hpr = PEOPLE[name]["supervisor"]
    side.gp = factories.HealthPersonnelFactory(
        municipality=municipality,
        hpr_number=gp_hpr,
        name=gp_name,
        user=factories.UserFactory(username=f"lege.{tag}"),
    )
    side.supervisor = factories.HealthPersonnelFactory(
        municipality=municipality, hpr_number=sup_hpr, name=sup_name, user=None
    )
    order = factories.issue_order(
        caseworker=side.caseworker,
        authority=authority,
        personnel=side.gp,
        number=7100 + ord(name),
        grounds_summary=f"Fortrolig begrunnelse {name}: mangelfull forskrivning.",
    )
    services.plan_measures(
        task=lifecycle.open_task(order, "plan_measures"),
        acting_user=side.leader,
        measures=[
            {
                "kind": Measure.Kind.COURSE,
                "course": course,
                "description": "Kurs",
                "planned_completion": today + timedelta(days=30),
            },
            {
                "kind": Measure.Kind.SUPERVISION,
                "course": None,
                "supervisor": side.supervisor,
                "description": "Veiledning",
                "planned_completion": today + timedelta(days=31),
            },
        ],
    )
    lifecycle.acknowledge(order)
    side.supervisor.refresh_from_db()
    side.course_measure = order.measures.get(kind=Measure.Kind.COURSE)
    side.supervision_measure = order.measures.get(kind=Measure.Kind.SUPERVISION)
    # Just enough of the measures to have a meeting and a session (lifecycle.complete_measures
    # would do all of it, at many times the cost).
    services.enrol_in_course(
        measure=side.course_measure,
        acting_user=side.leader,
        enrolled_on=today - timedelta(days=28),
        group_name="Kollegagruppe Test",
        group_leader="Gruppeleder Test",
        meeting_dates=[today - timedelta(days=21 - 7 * n) for n in range(course.meeting_count)],
    )
    side.meeting = side.course_measure.meetings.order_by("number").first()
    services.arrange_supervision(
        measure=side.supervision_measure,
        acting_user=side.leader,
        agreed_sessions=2,
        period_start=today - timedelta(days=14),
        period_end=today + timedelta(days=14),
    )
    services.record_supervision_session(
        measure=side.supervision_measure,
        acting_user=side.supervisor.user,
        date=today - timedelta(days=7),
        duration_minutes=60,
        topic="Veiledningstime 1",
        status="held",
    )
    side.document = services.add_measure_document(
        measure=side.course_measure,
        acting_user=side.leader,
        uploaded_file=lifecycle.pdf(f"kursbevis-{tag}.pdf"),
        kind="certificate",
    )
    side.appeal = services.register_appeal(
        order=order, acting_user=side.caseworker, received_on=today, note="Klage"
    )
    services.extend_deadline(
        order=order,
        acting_user=side.caseworker,
        new_deadline=order.deadline + timedelta(days=30),
        reason="Sykdom",
    )
    side.order = order
    side.task = lifecycle.open_task(order, "confirm_completion")
    side.notification = Notification.objects.filter(order=order).order_by("pk").first()
    assert side.notification is not None, "the world expects a notification per case"
    side.appointment, side.leader_appointment = (
        appointments.appoint(
            acting_user=None,
            user=user,
            role=role,
            organisation=organisation,
            reason="Oppnevnt i testverdenen",
            system=True,
        )
        for user, role, organisation in (
            (side.caseworker, Appointment.Role.CASEWORKER, authority),
            (side.leader, Appointment.Role.LEADER, municipality),
        )
    )
    newcomer = appointments.new_login(
        username=f"ny.{tag}",
        first_name="Ny",
        last_name=f"Saksbehandler {name}",
        email=f"ny.{tag}@test.invalid",
    )
    appointments.appoint(
        acting_user=None,
        user=newcomer,
        role=Appointment.Role.CASEWORKER,
        organisation=authority,
        reason="Oppnevnt i testverdenen",
        system=True,
    )
    side.invitation, link = invitations.issue(acting_user=None, user=newcomer)
    side.invitation_token = link.rstrip("/").rsplit("/", 1)[1]
    return side


def build_world() -> ProbeWorld:
    course = Course.objects.filter(active=True, format=Course.Format.QUALITY_PACKAGE).first()
    assert course is not None and course.meeting_count, "the seeded catalog has a SKIL package"
    authority_a = factories.AuthorityFactory(name="Statsforvalteren i Vestland")
    authority_b = factories.AuthorityFactory(name="Statsforvalteren i Trondelag")
    municipality_a = factories.MunicipalityFactory(
        number="4601", name="Bergen", authority=authority_a
    )
    municipality_b = factories.MunicipalityFactory(
        number="5001", name="Trondheim", authority=authority_b
    )
    world = ProbeWorld(
        A=_side("A", authority_a, municipality_a, course),
        B=_side("B", authority_b, municipality_b, course),
        helsetilsynet=factories.helsetilsynet(),
        course=course,
    )
    a = world.A
    security_officer = factories.UserFactory(username="sikkerhet.a")
    assign_perm(AUDIT_AUTHORITY, security_officer, a.authority)
    stand_in = factories.UserFactory(username="stedfortreder.a")
    assign_perm(ACT_AS_CASEWORKER, stand_in, a.order)
    world.users = {
        "caseworker": a.caseworker,
        "other_caseworker": world.B.caseworker,
        "helsetilsynet": factories.caseworker_for(world.helsetilsynet, username="saksb.htil"),
        "administrator": factories.administrator_for(a.authority, username="admin.a"),
        "security_officer": security_officer,
        "leader": a.leader,
        "other_leader": world.B.leader,
        "subject_gp": a.gp.user,
        "other_gp": factories.HealthPersonnelFactory(
            municipality=a.municipality,
            hpr_number="9100003",
            user=factories.UserFactory(username="annen.lege.a"),
        ).user,
        "supervisor": a.supervisor.user,
        "stand_in": stand_in,
        "deactivated": factories.caseworker_for(a.authority, username="sluttet.a", is_active=False),
        "anonymous": None,
    }
    assert world.users["supervisor"] is not None, "planning gives the supervisor a login"
    return world


@contextlib.contextmanager
def rolled_back(django_db_blocker, tmp_path_factory):
    """Database access for a fixture wider than a test, inside a transaction rolled back when
    the block ends (documents under a root of their own, passwords hashed as cheaply as in the
    tests). Each test's own ``db`` transaction nests inside it as a savepoint."""
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=tmp_path_factory.mktemp("documents"),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def probe_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once per module inside a transaction that is rolled back at the end.
    Tests using it must ask for ``db`` too: pytest-django runs tests without it after the ones
    that flush the database (and the catalog seeded by migrations with it)."""
    with rolled_back(django_db_blocker, tmp_path_factory):
        yield build_world()


# ------------------------------------------------------------------------- plausible bodies


def _field_value(bound, world):
    field_obj, name = bound.field, bound.name
    initial = bound.value()
    if isinstance(field_obj, forms.FileField):
        return SimpleUploadedFile("bevis.pdf", lifecycle.PDF, "application/pdf")
    if initial not in (None, "", []):
        if isinstance(initial, date):
            return initial.isoformat()
        return initial
    if not field_obj.required and not isinstance(field_obj, forms.BooleanField):
        return ""
    if isinstance(field_obj, forms.BooleanField):
        return "on"
    if isinstance(field_obj, forms.ModelMultipleChoiceField):
        return [str(pk) for pk in field_obj.queryset.values_list("pk", flat=True)[:1]]
    if isinstance(field_obj, forms.ModelChoiceField):
        first = field_obj.queryset.values_list("pk", flat=True).first()
        return "" if first is None else str(first)
    if isinstance(field_obj, forms.ChoiceField):
        choices = [str(v) for v, _label in field_obj.choices if v not in ("", None)]
        return choices[0] if choices else ""
    if isinstance(field_obj, forms.DateField):
        later = any(word in name for word in ("deadline", "planned", "end"))
        return (date.today() + timedelta(days=400 if later else 0)).isoformat()
    if isinstance(field_obj, forms.IntegerField):
        return str(max(field_obj.min_value or 1, 1))
    if isinstance(field_obj, forms.EmailField):
        return "ny.bruker@test.invalid"
    if "hpr" in name:
        return world.A.supervisor.hpr_number
    if name == "case_number":
        return "2026/9876"
    if name == "username":
        return "ny.bruker"
    return "Syntetisk tekst"


def _forms_within(value, depth=0):
    """Forms in a context value: the value itself, or inside a dict, list or tuple of them
    (the measure page keeps its forms in a dict, its meetings' forms in pairs)."""
    if isinstance(value, forms.BaseForm | forms.BaseFormSet):
        yield value
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _forms_within(item, depth + 1)
    elif depth < 3 and isinstance(value, list | tuple):
        for item in value:
            yield from _forms_within(item, depth + 1)


def forms_in(response):
    found = []
    for context in response.context or []:
        for values in getattr(context, "dicts", []):
            for value in _forms_within(values):
                if all(value is not f for f in found):
                    found.append(value)
    return found


def body_from(response, world) -> dict | None:
    """A plausible POST body for the page's forms (their fields, initial values or a
    plausible value of the field's type), or None when the page has no form."""
    found = forms_in(response)
    if not found:
        return None
    data = {}
    for form in found:
        if isinstance(form, forms.BaseFormSet):
            management = form.management_form
            data.update({b.html_name: b.value() for b in management})
            members = form.forms
        else:
            members = [form]
        for member in members:
            for bound in member:
                data[bound.html_name] = _field_value(bound, world)
    return data


def client_as(user):
    client = Client(enforce_csrf_checks=False)
    if user is not None:
        client.force_login(user)
    return client


# ------------------------------------------------------------------------- write detection

# Written on every request by design: the access log and its chain head, and login sessions.
EXPECTED_WRITES = {"audit.accessevent", "audit.chainhead", "sessions.session"}
DOMAIN_APPS = {"orders", "courses", "municipalities", "audit", "auth", "guardian", "viewflow"}
# Changes that leave the row count alone: a notification marked read, a task taken or done.
EXTRA_AGGREGATES = {
    "orders.notification": ["COUNT(read_at)"],
    "viewflow.task": ["COUNT(owner_id)", "COUNT(finished)", "COUNT(DISTINCT status)"],
    "viewflow.process": ["COUNT(finished)", "COUNT(DISTINCT status)"],
}


def _snapshot_sql():
    parts, labels = [], []
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if model._meta.app_label not in DOMAIN_APPS or label in EXPECTED_WRITES:
            continue
        if not model._meta.managed or model._meta.proxy:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        for aggregate in ["COUNT(*)", *EXTRA_AGGREGATES.get(label, [])]:
            parts.append(f"(SELECT {aggregate} FROM {table})")
            labels.append(f"{label} {aggregate}")
    return "SELECT " + ", ".join(parts), labels


_SNAPSHOT = None


def row_counts() -> dict:
    """Row counts (and a few aggregates) of every domain table, history tables included: a
    history row is written on every change, so an update shows here as well as an insert."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        _SNAPSHOT = _snapshot_sql()
    sql, labels = _SNAPSHOT
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(labels, cursor.fetchone(), strict=True))


def changed(before: dict, after: dict) -> dict:
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}
