"""The benchmark's world: a realistic database at a chosen size, in a scratch PostgreSQL database.

    .venv/bin/python bench/world.py --size 10000 [--database-url URL] [--manifest PATH]

What it holds (issue 14): the 357 municipalities and the authorities (the real reference data),
~22,000 health personnel at GP offices (Oslo's 2,450 among them), ~20,000 users (most of the
GPs have a login; a leader for every municipality; caseworkers, administrators and a security
officer for every authority), ``size`` orders in every state with their tasks, measures,
history and notices, and ~13 access events per order.

How, in minutes rather than hours: about a hundred *template* orders are taken through the real
services (orders.services, the same lifecycle steps as the demo data, web's load_demo), so every
row is one the application writes. They are then multiplied in bulk: every row that belongs to
an order (viewflow's process and task rows and the task links, the order and its measures,
meetings, sessions, documents, confirmations, reviews, appeals, extensions, grants, notices,
next deadline, and every history row of them) is copied with COPY, each copy moved to other
people: another municipality, a GP there, its statsforvalter's caseworker and leader, a
supervisor. A closed template's copies are spread over ten years back, an open one's over the
last three months. The access log is then written as real links of the hash chain
(``verify_audit`` finds it whole), ~13 looks per order by the people on it.

It drops and recreates the database it is given (its name must start with ``palegg_bench``),
and writes a manifest (JSON, see bench/manifest.example.json) that bench/pages.py and
bench/load.py read: the users measured per role, and many users per role for the load test.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/palegg_bench_{size}"
PASSWORD = "bench-palegg-2026"
GP_COUNT, GP_WITH_LOGIN, OSLO_GPS = 22_000, 19_500, 2_450
CASEWORKERS_PER_AUTHORITY = 10
# The templates taken through the services, per state: most orders of decades are closed.
TEMPLATE_STATES = {
    "fulfilled": 40,
    "withdrawn": 8,
    "reversed": 4,
    "issued": 8,
    "planned": 8,
    "under_way": 8,
    "terms_pending": 8,
    "confirmed": 8,
    "returned": 8,
    "under_appeal": 8,
    "extended": 8,
}
CLOSED_STATES = {"fulfilled", "withdrawn", "reversed"}
EVENTS_PER_ORDER = 13
# Where the GP and the supervisor that bench/pages.py measures work (plan_copies).
MEASURED_MUNICIPALITY = "0301"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="orders in the world")
    parser.add_argument("--database-url", help=f"default {DEFAULT_URL}")
    parser.add_argument("--manifest", help="default bench/var/world-<size>.json")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    args.database_url = args.database_url or DEFAULT_URL.format(size=args.size)
    args.manifest = Path(args.manifest or HERE / "var" / f"world-{args.size}.json")
    return args


def recreate_database(url):
    """Drop and create the scratch database, refusing anything that is not a loopback
    benchmark database."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("palegg_bench") or parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"Refusing to recreate {name!r} on {parts.hostname!r}: not a bench DB.")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PALEGG_DEVELOPMENT", "1")
    # Mail the services send (notices) goes nowhere.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


class Clock:
    def __init__(self):
        self.start = time.monotonic()

    def say(self, text):
        print(f"[{time.monotonic() - self.start:7.1f} s] {text}", flush=True)


# --- The register and the people -------------------------------------------------------------


def build_register(rng, fake, clock):
    """GP offices and ~22,000 health personnel over the 357 municipalities, most with a login
    (one password hash for all: hashing 19,000 passwords would take minutes)."""
    from django.contrib.auth.hashers import make_password
    from gp_register_data import OFFICE_KINDS, org_number
    from simple_history.utils import bulk_create_with_history

    from audit.guards import history_written_explicitly
    from municipalities.models import GPOffice, HealthPersonnel, Municipality, User

    municipalities = list(Municipality.objects.filter(valid_to__isnull=True).order_by("number"))
    oslo = next(m for m in municipalities if m.number == "0301")
    weights = {m.pk: rng.lognormvariate(3.5, 1.0) for m in municipalities if m is not oslo}
    scale = (GP_COUNT - OSLO_GPS) / sum(weights.values())
    per_municipality = {pk: max(2, round(w * scale)) for pk, w in weights.items()}
    per_municipality[oslo.pk] = OSLO_GPS
    offices, prefix = [], 93_000_000
    for m in municipalities:
        for _ in range(max(1, per_municipality[m.pk] // 5)):
            org = org_number(prefix)
            prefix = int(org[:8]) + 1
            offices.append(
                GPOffice(
                    name=f"{fake.last_name()} {rng.choice(OFFICE_KINDS)}",
                    org_number=org,
                    address=fake.street_address(),
                    municipality=m,
                )
            )
    with history_written_explicitly():
        bulk_create_with_history(offices, GPOffice, batch_size=2000)
    offices_of = defaultdict(list)
    for office in GPOffice.objects.all():
        offices_of[office.municipality_id].append(office)
    password = make_password(PASSWORD)
    people, users = [], []
    hpr = 5_000_000
    for m in municipalities:
        for _ in range(per_municipality[m.pk]):
            first, last = fake.first_name(), fake.last_name()
            hpr += 1
            person = HealthPersonnel(
                hpr_number=str(hpr),
                name=f"{first} {last}",
                municipality=m,
                gp_office=rng.choice(offices_of[m.pk]),
                list_size=rng.randrange(400, 1800),
                list_open=rng.random() < 0.3,
            )
            people.append(person)
            users.append(
                User(
                    username=f"lege.{hpr}",
                    first_name=first,
                    last_name=last,
                    email=f"lege.{hpr}@bench.invalid",
                    password=password,
                )
            )
    with_login = set(rng.sample(range(len(people)), min(GP_WITH_LOGIN, len(people))))
    User.objects.bulk_create([u for i, u in enumerate(users) if i in with_login], batch_size=5000)
    ids = dict(User.objects.filter(username__startswith="lege.").values_list("username", "pk"))
    for i, person in enumerate(people):
        if i in with_login:
            person.user_id = ids[f"lege.{person.hpr_number}"]
    with history_written_explicitly():
        bulk_create_with_history(people, HealthPersonnel, batch_size=5000)
    clock.say(f"register: {len(offices)} offices, {len(people)} personnel, {len(ids)} GP logins")
    return password


def appoint_people(rng, fake, password, clock):
    """Through the appointment service: an administrator, caseworkers and a security officer
    for every authority, and a leader (kommuneoverlege) for every municipality."""
    from municipalities.appointments import appoint
    from municipalities.models import Appointment, Authority, Municipality, User
    from municipalities.services import authority_keys

    keys = {number: key for key, number in authority_keys().items()}
    people = {"caseworkers": defaultdict(list), "leaders": {}, "security": {}, "admins": {}}

    def user(username):
        return User.objects.create(
            username=username,
            first_name=fake.first_name(),
            last_name=fake.last_name(),
            email=f"{username}@bench.invalid",
            password=password,
        )

    def appointed(username, role, organisation, by, reason):
        person = user(username)
        appoint(
            acting_user=by,
            user=person,
            role=role,
            organisation=organisation,
            reason=f"Benchmark: {reason}.",
            system=by is None,
        )
        return person

    Role = Appointment.Role
    short = {"ostfold-buskerud-oslo-og-akershus": "sfoa"}
    for authority in Authority.objects.order_by("pk"):
        key = keys.get(authority.org_number, str(authority.pk))
        key = short.get(key, key)
        admin = appointed(f"admin.{key}", Role.ADMINISTRATOR, authority, None, "administrator")
        people["admins"][authority.pk] = admin
        for i in range(CASEWORKERS_PER_AUTHORITY):
            name = f"saksbehandler.{key}" + (f"{i + 1}" if i else "")
            people["caseworkers"][authority.pk].append(
                appointed(name, Role.CASEWORKER, authority, admin, "saksbehandler")
            )
        people["security"][authority.pk] = appointed(
            f"sikkerhet.{key}", Role.SECURITY_OFFICER, authority, admin, "sikkerhetsansvarlig"
        )
    for m in Municipality.objects.filter(valid_to__isnull=True).order_by("number"):
        by = people["admins"][m.authority_id]
        people["leaders"][m.pk] = appointed(
            f"leder.{m.number}", Role.LEADER, m, by, "kommuneoverlege"
        )
    clock.say(f"appointments: {User.objects.count()} users in all")
    return people


# --- Templates through the services ------------------------------------------------------------


def build_templates(rng, people, clock):
    """About a hundred orders in every state, through the services (the demo's lifecycle
    steps). Returns, per template order, who is on it (for the copies to move it to others)."""
    from municipalities.models import Authority, HealthPersonnel, Municipality
    from orders import services
    from orders.models import Review
    from web.management.commands.load_demo import Command as Demo

    national = Authority.objects.get(kind=Authority.Kind.HELSETILSYNET)
    numbers = ["0301", "3201", "4601", "4621", "5001", "1103", "4204", "5501", "3301", "1508"]
    municipalities = {m.number: m for m in Municipality.objects.filter(number__in=numbers)}
    gps = defaultdict(list)
    for person in HealthPersonnel.objects.filter(
        municipality__number__in=numbers, user__isnull=False
    ).select_related("user", "municipality"):
        gps[person.municipality.number].append(person)

    demo = Demo()
    demo.municipalities = municipalities
    demo.leaders = {n: people["leaders"][m.pk] for n, m in municipalities.items()}
    demo.gps = {n: rng.sample(gps[n], len(gps[n])) for n in numbers}
    demo.authorities, demo.caseworkers = {}, {}
    used = defaultdict(int)
    templates = {}
    today = date.today()
    index = 0
    for state, count in TEMPLATE_STATES.items():
        for _ in range(count):
            index += 1
            number = numbers[index % len(numbers)]
            municipality = municipalities[number]
            authority = national if index % 7 == 0 else municipality.authority
            key = f"a{authority.pk}"
            demo.authorities[key] = authority
            demo.caseworkers[key] = rng.choice(people["caseworkers"][authority.pk])
            gp_index = used[number] % (len(demo.gps[number]) - 1)
            supervisor = demo.gps[number][gp_index + 1]
            used[number] += 2
            demo.supervisor = supervisor
            days_ago = rng.randrange(10, 220) if state != "issued" else rng.randrange(1, 20)
            order = demo._issue(index, key, number, gp_index=gp_index, days_ago=days_ago)
            _advance(demo, services, Review, order, state, key, number, today)
            order.refresh_from_db()
            templates[order.pk] = {
                "state": state,
                "authority": authority.pk,
                "municipality": municipality.pk,
                "personnel": order.health_personnel_id,
                "personnel_user": order.health_personnel.user_id,
                "caseworker": order.caseworker_id,
                "leader": demo.leaders[number].pk,
                "supervisor": supervisor.pk if order.requires_supervision else None,
                "supervisor_user": supervisor.user_id if order.requires_supervision else None,
                "case_number": order.case_number,
            }
    clock.say(f"templates: {len(templates)} orders through the services")
    return templates


def _advance(demo, services, Review, order, state, key, number, today):
    """Take a freshly issued template order to ``state`` through the services."""
    if state == "issued":
        return
    if state == "withdrawn":
        services.withdraw_order(
            order=order, acting_user=demo.caseworkers[key], reason="Feil person registrert."
        )
        return
    if state in ("under_appeal", "reversed"):
        appeal = services.register_appeal(
            order=order,
            acting_user=demo.caseworkers[key],
            received_on=today - timedelta(days=3),
            note="Klage mottatt per brev.",
        )
        if state == "reversed":
            services.decide_appeal(
                appeal=appeal,
                acting_user=demo.caseworkers[key],
                outcome="reversed",
                decided_by="nemnd",
                decided_on=today - timedelta(days=1),
                note="Nemnda opphevet vedtaket.",
            )
        return
    if state == "extended":
        services.extend_deadline(
            order=order,
            acting_user=demo.caseworkers[key],
            new_deadline=order.deadline + timedelta(days=60),
            reason="Kurset starter først etter sommeren.",
        )
        return
    demo._plan(order, number)
    if state == "planned":
        return
    demo._acknowledge(order)
    if state == "under_way":
        demo._carry_out(order, number, meetings_attended=2, sessions_held=3, report=False)
        return
    if state == "terms_pending":
        from courses.models import Measure

        services.enrol_in_course(
            measure=order.measures.get(kind=Measure.Kind.COURSE),
            acting_user=demo.leaders[number],
            enrolled_on=today - timedelta(days=20),
            group_name="Kollegagruppe Vest",
            group_leader="Gruppeleder (syntetisk)",
            meeting_dates=[today + timedelta(days=d) for d in (20, 80, 140)],
        )
        return
    demo._confirm(order, number, "kursbevis.pdf")
    if state == "returned":
        demo._sign_off(order, key, Review.Outcome.RETURNED, "Kursbevis for tredje møte mangler.")
    elif state == "fulfilled":
        demo._sign_off(order, key, Review.Outcome.FULFILLED)


# --- Multiplying the templates -------------------------------------------------------------------


class Table:
    """One table of rows that belong to an order, and how a copy of a row is made."""

    def __init__(self, model):
        from django.db import models

        meta = model._meta
        self.model, self.name = model, meta.db_table
        self.pk = meta.pk.column
        self.columns, self.kinds = [], []
        self.depends = set()
        instance = getattr(model, "instance_type", None)  # simple-history's historical models
        for field in meta.local_concrete_fields:
            kind = None
            if field.is_relation:
                target = field.related_model._meta.db_table
                kind = ("fk", target)
                if target != self.name:
                    self.depends.add(target)
            elif instance is not None and field.column == instance._meta.pk.column:
                kind = ("fk", instance._meta.db_table)
            elif isinstance(field, models.DateTimeField):
                kind = ("datetime",)
            elif isinstance(field, models.DateField):
                kind = ("date",)
            elif field.column == "case_number":
                kind = ("case_number",)
            elif field.column == "key" and self.name == "orders_notification":
                kind = ("key",)
            elif isinstance(field, models.UUIDField) and field.null:
                kind = ("null",)
            if field.column == self.pk and not field.is_relation:
                kind = ("fk", self.name)  # the row's own id, moved on by the table's stride
            self.columns.append(field.column)
            self.kinds.append(kind)


ROOTS = ("viewflow_process",)


def order_tables():
    """Every table whose rows belong to an order, in an order that inserts referenced rows
    first (the access log is written separately, as a chain)."""
    from django.apps import apps

    tables = {}
    for model in apps.get_models(include_auto_created=True):
        table = Table(model)
        if table.name.startswith("audit_"):
            continue
        tables[table.name] = table
    scoped = set(ROOTS) | {"orders_order"}
    changed = True
    while changed:
        changed = False
        for name, table in tables.items():
            if name not in scoped and any(
                kind and kind[0] == "fk" and kind[1] in scoped for kind in table.kinds
            ):
                scoped.add(name)
                changed = True
    ordered, placed = [], set()
    while len(ordered) < len(scoped):
        for name in sorted(scoped - placed):
            deps = (tables[name].depends & scoped) - {name}
            # viewflow's process and task point at each other (parent_task): the process first.
            if name == "viewflow_process":
                deps = set()
            if deps <= placed:
                ordered.append(tables[name])
                placed.add(name)
    return ordered


def root_finder(table, roots):
    """A function from a row to the order (process) it belongs to."""
    if table.name in ROOTS:
        index = table.columns.index(table.pk)
        return lambda row: row[index]
    for i, kind in enumerate(table.kinds):
        if kind and kind[0] == "fk" and kind[1] in roots and kind[1] != table.name:
            mapping = roots[kind[1]]
            return lambda row, i=i, mapping=mapping: mapping.get(row[i])
    raise RuntimeError(f"No way from {table.name} to its order.")


def read_rows(cursor, table):
    cursor.execute(f'SELECT {", ".join(table.columns)} FROM "{table.name}" ORDER BY 1')
    return cursor.fetchall()


def plan_copies(rng, templates, size, people):
    """For every copy: which template, and who it is about and handled by instead."""
    from municipalities.models import Authority, HealthPersonnel, Municipality

    national = set(
        Authority.objects.filter(kind=Authority.Kind.HELSETILSYNET).values_list("pk", flat=True)
    )
    authority_of = dict(Municipality.objects.values_list("pk", "authority_id"))
    gps_in = defaultdict(list)
    for pk, municipality, user in HealthPersonnel.objects.filter(user__isnull=False).values_list(
        "pk", "municipality_id", "user_id"
    ):
        gps_in[municipality].append((pk, user))
    # The GP and the supervisor that bench/pages.py measures have the same cases at every size
    # (one of each state, in Oslo, in the first cohort of copies), and no one else's: a page
    # of theirs then runs the same queries in every world, where a random busiest GP has an
    # empty list (no prefetch query) in one world and rows in the other.
    used_in_templates = {t["personnel"] for t in templates.values()} | {
        t["supervisor"] for t in templates.values()
    }
    oslo = Municipality.objects.get(number=MEASURED_MUNICIPALITY).pk
    measured_gp, measured_supervisor = [
        entry for entry in sorted(gps_in[oslo]) if entry[0] not in used_in_templates
    ][:2]
    for measured in (measured_gp, measured_supervisor):
        gps_in[oslo].remove(measured)
    people["measured"] = {"gp": measured_gp[1], "supervisor": measured_supervisor[1]}
    order_ids = sorted(templates)
    theirs = _measured_copies(templates, order_ids)
    municipalities = sorted(gps_in)
    weights = [len(gps_in[m]) for m in municipalities]
    copies = []
    cohorts = -(-(size - len(order_ids)) // len(order_ids))
    for k in range(1, cohorts + 1):
        for t_index, template_id in enumerate(order_ids):
            if len(order_ids) + len(copies) >= size:
                break
            t = templates[template_id]
            m = rng.choices(municipalities, weights)[0]
            (gp, gp_user), *rest = rng.sample(gps_in[m], min(2, len(gps_in[m])))
            sup, sup_user = rest[0] if rest else rng.choice(gps_in[municipalities[0]])
            if k == 1 and template_id in theirs:
                m = oslo
                if "gp" in theirs[template_id]:
                    gp, gp_user = measured_gp
                if "supervisor" in theirs[template_id]:
                    sup, sup_user = measured_supervisor
            authority = t["authority"] if t["authority"] in national else authority_of[m]
            closed = t["state"] in CLOSED_STATES
            copies.append(
                {
                    "k": k,
                    "template": template_id,
                    "shift": timedelta(days=-rng.randrange(0, 3650 if closed else 90)),
                    "users": {
                        t["caseworker"]: rng.choice(people["caseworkers"][authority]).pk,
                        t["personnel_user"]: gp_user,
                        t["leader"]: people["leaders"][m].pk,
                        **({t["supervisor_user"]: sup_user} if t["supervisor_user"] else {}),
                    },
                    "personnel": {
                        t["personnel"]: gp,
                        **({t["supervisor"]: sup} if t["supervisor"] else {}),
                    },
                    "municipality": {t["municipality"]: m},
                    "authority": {t["authority"]: authority},
                    "number": 10_000 + k * len(order_ids) + t_index,
                }
            )
    return copies


def _measured_copies(templates, order_ids) -> dict[int, set[str]]:
    """Which templates' first copies are about the measured GP (one of each state, one with
    supervision among them) and supervised by the measured supervisor (one of each open state
    past the plan, where the supervision is under way). The first cohort exists at every size the bench builds."""
    theirs = defaultdict(set)
    for state in TEMPLATE_STATES:
        of_state = [pk for pk in order_ids if templates[pk]["state"] == state]
        with_supervision = [pk for pk in of_state if templates[pk]["supervisor"]]
        theirs[(with_supervision or of_state)[0]].add("gp")
    for state in ("under_way", "confirmed", "returned", "extended"):
        supervised = [
            pk
            for pk in order_ids
            if templates[pk]["state"] == state
            and templates[pk]["supervisor"]
            and "gp" not in theirs[pk]
        ]
        theirs[supervised[0]].add("supervisor")
    return dict(theirs)


def multiply(templates, copies, clock):
    """Copy every row of every template order once per planned copy, with COPY."""
    from django.db import connection

    tables = order_tables()
    roots, rows, strides = {}, {}, {}
    with connection.cursor() as cursor:
        for table in tables:
            rows[table.name] = read_rows(cursor, table)
            pk_index = table.columns.index(table.pk)
            strides[table.name] = max((r[pk_index] for r in rows[table.name]), default=0)
            find = root_finder(table, roots)
            roots[table.name] = {r[pk_index]: find(r) for r in rows[table.name]}
    by_template = defaultdict(list)
    for copy in copies:
        by_template[copy["template"]].append(copy)
    raw = connection.connection  # psycopg's connection, for COPY
    written = 0
    with raw.cursor() as cursor:
        # Rows are copies of rows the application wrote, so their references hold by
        # construction; foreign-key checks per row would double the time.
        cursor.execute("SET session_replication_role = replica")
        for table in tables:
            transforms = [column_transform(kind, strides) for kind in table.kinds]
            find = root_finder(table, roots)
            pk_index = table.columns.index(table.pk)
            columns = ", ".join(f'"{c}"' for c in table.columns)
            with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as out:
                for row in rows[table.name]:
                    root = roots[table.name][row[pk_index]]
                    for copy in by_template.get(root, ()):
                        out.write_row(
                            [
                                f(value, copy) if f else value
                                for f, value in zip(transforms, row, strict=True)
                            ]
                        )
                        written += 1
            raw.commit()
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{table.pk}'), "
                f'(SELECT max("{table.pk}") FROM "{table.name}"))'
            )
        raw.commit()
        # The planner's statistics still describe the templates alone.
        cursor.execute("ANALYZE")
        raw.commit()
    clock.say(f"copies: {len(copies)} orders, {written} rows over {len(tables)} tables")


def column_transform(kind, strides):
    from psycopg.types.json import Jsonb

    if kind is None:
        return lambda value, copy: Jsonb(value) if isinstance(value, (dict, list)) else value
    what = kind[0]
    if what == "fk":
        target = kind[1]
        maps = {
            "municipalities_user": "users",
            "municipalities_healthpersonnel": "personnel",
            "municipalities_municipality": "municipality",
            "municipalities_authority": "authority",
        }
        if target in maps:
            name = maps[target]
            return lambda value, copy: copy[name].get(value, value)
        if target in strides:
            stride = strides[target]
            return lambda value, copy: None if value is None else value + copy["k"] * stride
        return None
    if what in ("date", "datetime"):
        return lambda value, copy: None if value is None else value + copy["shift"]
    if what == "case_number":
        return lambda value, copy: f"{value.split('/')[0]}/{copy['number']}"
    if what == "key":
        return lambda value, copy: f"{value}~{copy['k']}"
    if what == "null":
        return lambda value, copy: None
    raise ValueError(kind)


# --- The access log ----------------------------------------------------------------------------


def looks_at(row, rng):
    """The ~13 looks at one order: its caseworker's, its municipality's leader's, the GP's own
    (and who has read it), a document downloaded, the supervisor's measure."""
    from audit import Action
    from audit.models import Role

    pk, created, authority, authority_name, caseworker, m_name, gp, leader, measure, doc, sup = row
    case = str(pk)
    as_caseworker = (caseworker, Role.CASEWORKER, authority_name)
    as_leader = (leader, Role.LEADER, m_name)
    as_gp = (gp, Role.PERSONNEL, "")
    on_case = ("orders.order", case)
    on_measure = ("courses.measure", str(measure)) if measure else on_case
    looks = [
        *[(as_caseworker, Action.VIEW_CASE, on_case)] * 3,
        (as_caseworker, Action.MANAGE_CASE, on_case),
        *[(as_leader, Action.VIEW_CASE, on_case)] * 3,
        (as_leader, Action.VIEW_MEASURE if measure else Action.VIEW_CASE, on_measure),
        *[(as_gp, Action.VIEW_CASE, on_case)] * 2,
        (as_gp, Action.VIEW_CASE_READERS, on_case),
        (as_caseworker, Action.DOWNLOAD_DOCUMENT, ("courses.evidencedocument", str(doc)))
        if doc
        else (as_caseworker, Action.VIEW_CASE, on_case),
        ((sup, Role.SUPERVISOR, ""), Action.VIEW_MEASURE, on_measure)
        if sup and measure
        else (as_caseworker, Action.VIEW_CASE, on_case),
    ]
    for (user, role, organisation), action, (target_type, target) in looks:
        at = created + timedelta(days=rng.random() * 200)
        yield at, user, role, organisation, authority, action, target_type, target, case


def write_access_log(clock, rng):
    """~13 looks per order by the people on it, as real links of the hash chain."""
    from django.db import connection
    from django.utils import timezone

    from audit.chain import HASHED_FIELDS, hash_of
    from audit.models import AccessEvent, ChainHead

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH measure AS (
                SELECT order_id, min(id) AS id FROM courses_measure GROUP BY order_id
            ), document AS (
                SELECT order_id, min(id) AS id FROM courses_evidencedocument GROUP BY order_id
            ), grant_ AS (
                SELECT order_id, min(user_id) AS user_id FROM orders_supervisiongrant
                GROUP BY order_id
            ), leader AS (
                SELECT content_object_id AS municipality_id, min(user_id) AS user_id
                FROM municipalities_municipalityuserobjectpermission GROUP BY 1
            )
            SELECT o.process_ptr_id, p.created, o.issuing_authority_id, a.name, o.caseworker_id,
                   m.name, hp.user_id, leader.user_id, measure.id, document.id, grant_.user_id
            FROM orders_order o
            JOIN viewflow_process p ON p.id = o.process_ptr_id
            JOIN municipalities_authority a ON a.id = o.issuing_authority_id
            JOIN municipalities_municipality m ON m.id = o.municipality_id
            JOIN municipalities_healthpersonnel hp ON hp.id = o.health_personnel_id
            LEFT JOIN leader ON leader.municipality_id = o.municipality_id
            LEFT JOIN measure ON measure.order_id = o.process_ptr_id
            LEFT JOIN document ON document.order_id = o.process_ptr_id
            LEFT JOIN grant_ ON grant_.order_id = o.process_ptr_id
            """
        )
        orders = cursor.fetchall()
    now = timezone.now()
    looks = []
    for row in orders:
        for at, *look in looks_at(row, rng):
            looks.append((min(now, at), *look))
    looks.sort(key=lambda e: e[0])
    head = ChainHead.objects.get_or_create(pk=1)[0]
    sequence, previous = head.sequence, head.hash
    raw = connection.connection
    columns = [*HASHED_FIELDS, "hash"]
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY audit_accessevent ({', '.join(columns)}) FROM STDIN") as out:
            for at, user, role, organisation, authority, action, ttype, target, case in looks:
                sequence += 1
                event = AccessEvent(
                    sequence=sequence,
                    at=at,
                    user_id=user,
                    role=role,
                    organisation=organisation[:200],
                    authority_id=authority,
                    action=action,
                    target_type=ttype,
                    target_id=target,
                    case_id=case,
                    outcome="shown",
                    ip_address=None,
                    detail="",
                    previous_hash=previous,
                )
                event.hash = previous = hash_of(event)
                out.write_row([getattr(event, c) for c in columns])
        raw.commit()
    ChainHead.objects.filter(pk=1).update(sequence=sequence, hash=previous)
    clock.say(f"access log: {len(looks)} events chained")


# --- The manifest -------------------------------------------------------------------------------


def manifest(args, people):
    """Who bench/pages.py and bench/load.py measure as, and what they may open."""
    from django.db import connection

    from municipalities.models import Authority, Municipality, User

    def ids(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    sfoa = User.objects.get(username="saksbehandler.sfoa")
    national = User.objects.get(username="saksbehandler.helsetilsynet")
    oslo = Municipality.objects.get(number="0301")
    leader = people["leaders"][oslo.pk]
    officer = User.objects.get(username="sikkerhet.sfoa")
    sfoa_authority = Authority.objects.get(appointments__user=sfoa)
    open_sfoa = ids(
        "SELECT process_ptr_id FROM orders_order o JOIN viewflow_process p ON p.id = o.process_ptr_id"
        " WHERE issuing_authority_id = %s AND p.status = 'NEW' ORDER BY 1 LIMIT 20",
        [sfoa_authority.pk],
    )
    # A GP with several open orders about them, one of them waiting for them to acknowledge
    # the plan: «Mine oppgaver» with rows.
    gp = ids(
        "SELECT hp.user_id, array_agg(o.process_ptr_id ORDER BY o.process_ptr_id)"
        " FROM orders_order o JOIN viewflow_process p ON p.id = o.process_ptr_id"
        " JOIN municipalities_healthpersonnel hp ON hp.id = o.health_personnel_id"
        " WHERE p.status = 'NEW' AND hp.user_id IS NOT NULL"
        " GROUP BY hp.user_id ORDER BY bool_or(EXISTS (SELECT 1 FROM viewflow_task t"
        "   WHERE t.process_id = o.process_ptr_id AND t.flow_task LIKE '%%.acknowledge'"
        "   AND t.status IN ('NEW', 'ASSIGNED'))) DESC, count(*) DESC, hp.user_id LIMIT 40"
    )
    supervisors = ids(
        "SELECT user_id, array_agg(order_id ORDER BY order_id), min(measure_id)"
        " FROM orders_supervisiongrant WHERE ended_at IS NULL"
        " GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 20"
    )
    oslo_orders = ids(
        "SELECT process_ptr_id FROM orders_order WHERE municipality_id = %s ORDER BY 1 DESC"
        " LIMIT 20",
        [oslo.pk],
    )
    oslo_name = ids(
        "SELECT split_part(hp.name, ' ', 2) FROM orders_order o"
        " JOIN municipalities_healthpersonnel hp ON hp.id = o.health_personnel_id"
        " WHERE o.municipality_id = %s LIMIT 1",
        [oslo.pk],
    )
    usernames = dict(User.objects.values_list("pk", "username"))
    gp_user = people["measured"]["gp"]
    gp_orders = [
        o
        for (o,) in ids(
            "SELECT o.process_ptr_id FROM orders_order o"
            " JOIN municipalities_healthpersonnel hp ON hp.id = o.health_personnel_id"
            " JOIN viewflow_process p ON p.id = o.process_ptr_id"
            " WHERE hp.user_id = %s ORDER BY p.status = 'NEW' DESC, 1",
            [gp_user],
        )
    ]
    sup_user = people["measured"]["supervisor"]
    ((sup_orders, sup_measure),) = ids(
        "SELECT array_agg(order_id ORDER BY order_id), min(measure_id)"
        " FROM orders_supervisiongrant WHERE ended_at IS NULL AND user_id = %s",
        [sup_user],
    )
    roles = {
        "sf_caseworker": {
            "username": sfoa.username,
            "user_id": sfoa.pk,
            "order_id": open_sfoa[0][0],
            "search": "Bærum",
        },
        "national_caseworker": {
            "username": national.username,
            "user_id": national.pk,
            "order_id": open_sfoa[1][0],
            "search": "Bergen",
        },
        "leader_oslo": {
            "username": leader.username,
            "user_id": leader.pk,
            "order_id": oslo_orders[0][0],
            "municipality": "0301",
            "search": oslo_name[0][0],
        },
        "gp": {"username": usernames[gp_user], "user_id": gp_user, "order_id": gp_orders[0]},
        "supervisor": {
            "username": usernames[sup_user],
            "user_id": sup_user,
            "order_id": sup_orders[0],
            "measure_id": sup_measure,
        },
        "security_officer": {"username": officer.username, "user_id": officer.pk},
    }
    load_users = defaultdict(list)
    for authority_pk, caseworkers in people["caseworkers"].items():
        for user in caseworkers[:3]:
            orders = ids(
                "SELECT process_ptr_id FROM orders_order WHERE issuing_authority_id = %s"
                " ORDER BY process_ptr_id DESC LIMIT 5",
                [authority_pk],
            )
            role = (
                "national_caseworker"
                if user.username.startswith("saksbehandler.helse")
                else ("sf_caseworker")
            )
            load_users[role].append(
                {"username": user.username, "order_ids": [o for (o,) in orders]}
            )
    for municipality_pk, user in list(people["leaders"].items())[:400]:
        orders = ids(
            "SELECT process_ptr_id FROM orders_order WHERE municipality_id = %s"
            " ORDER BY process_ptr_id DESC LIMIT 5",
            [municipality_pk],
        )
        if orders:
            load_users["leader"].append(
                {"username": user.username, "order_ids": [o for (o,) in orders]}
            )
        if len(load_users["leader"]) >= 40:
            break
    load_users["gp"] = [{"username": usernames[u], "order_ids": o[:5]} for u, o in gp]
    load_users["supervisor"] = [
        {"username": usernames[u], "order_ids": o[:5]} for u, o, _ in supervisors
    ]
    load_users["security_officer"] = [{"username": officer.username, "order_ids": []}]
    data = {
        "size": args.size,
        "database_url": args.database_url,
        "password": PASSWORD,
        "roles": roles,
        "load_users": dict(load_users),
    }
    args.manifest.parent.mkdir(parents=True, exist_ok=True)
    args.manifest.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return data


def main(argv=None):
    args = parse_args(argv)
    clock = Clock()
    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command
    from faker import Faker

    rng = random.Random(args.seed)
    fake = Faker("no_NO")
    fake.seed_instance(args.seed)
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    clock.say("migrated, reference data loaded")
    password = build_register(rng, fake, clock)
    people = appoint_people(rng, fake, password, clock)
    templates = build_templates(rng, people, clock)
    copies = plan_copies(rng, templates, args.size, people)
    multiply(templates, copies, clock)
    write_access_log(clock, rng)
    from django.db import connection

    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    clock.say("vacuumed and analysed")
    manifest(args, people)
    clock.say(f"manifest: {args.manifest}")


if __name__ == "__main__":
    main()
