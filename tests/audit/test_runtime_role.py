"""The application's runtime database role does not own the tables: the database itself refuses
it every change to the logs but adding to them, while the application's own writes work.

PostgreSQL only. A login role per test database (roles are cluster-wide, and every xdist worker
has its own database) is granted with the same function `make migrate` uses; the refusals are
tried on a psycopg connection as that role, the application's writes in a subprocess whose
DATABASE_URL names it. The tables' owner here is the test suite's superuser.
"""

import json
import os
import subprocess
import sys
from io import StringIO

import pgtrigger
import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from psycopg import errors
from psycopg import sql as pgsql
from simple_history.models import HistoricalChanges

from audit import chain, db_roles
from audit.models import AccessEvent, AuditArchive, ChainHead
from orders.models import Order

from .helpers import (
    behind_the_applications_back,
    on_postgresql_only,
    record_events,
    verify_audit,
)

pytestmark = on_postgresql_only

EVENTS, HEAD, ARCHIVES = (
    AccessEvent._meta.db_table,
    ChainHead._meta.db_table,
    AuditArchive._meta.db_table,
)
HISTORY = sorted(
    m._meta.db_table for m in apps.get_models() if issubclass(m, HistoricalChanges)
)
APPEND_ONLY = [EVENTS, ARCHIVES, *HISTORY]
AUDIT_TABLES = [EVENTS, HEAD, ARCHIVES, *HISTORY]


@pytest.fixture(scope="session")
def runtime_role(django_db_setup, django_db_blocker):
    """A login role with exactly the runtime privileges on this worker's test database."""
    name = f"{connection.settings_dict['NAME']}_runtime"[:63]
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            try:
                cursor.execute(
                    pgsql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER")
                    .format(pgsql.Identifier(name))
                    .as_string(cursor.connection)
                )
            except DatabaseError as error:
                # Left from an earlier run (--reuse-db): granting again makes it as new.
                if not isinstance(error.__cause__, errors.DuplicateObject):
                    raise
        db_roles.grant_runtime_privileges(connection, name)
    yield name
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        role = pgsql.Identifier(name).as_string(cursor.connection)
        cursor.execute(f"DROP OWNED BY {role}")
        try:
            cursor.execute(f"DROP ROLE {role}")
        except DatabaseError:
            pass  # still granted in another database; harmless, and reused next time


def runtime_dsn(role):
    db = connection.settings_dict
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "dbname": db["NAME"],
        "user": role,
    }


@pytest.fixture(scope="module")
def as_runtime(runtime_role):
    with psycopg.connect(**runtime_dsn(runtime_role), autocommit=True) as conn:
        yield conn


# Every pgtrigger the project has, set aside: any role may set pgtrigger.ignore, so the
# refusals below must come from privileges (or from a trigger that ignores it for this role).
ALL_TRIGGERS = "{" + ",".join(t.get_pgid(m) for m, t in pgtrigger.registered()) + "}"
EVENTS_TRIGGER = next(t.get_pgid(m) for m, t in pgtrigger.registered() if m is AccessEvent)


def attempt(conn, statement, params=None):
    """Run ``statement`` as the runtime role with every trigger set aside; rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [ALL_TRIGGERS])
        conn.execute(statement, params)


def refused(conn, statement, params=None, error=errors.InsufficientPrivilege):
    with pytest.raises(error) as caught:
        attempt(conn, statement, params)
    return caught.value


# --- what the runtime role may not do ----------------------------------------------------


def test_the_history_tables_are_found_from_the_model_registry():
    assert {"orders_historicalorder", "municipalities_historicalauthority"} <= set(HISTORY)
    assert db_roles.history_tables() == set(HISTORY)


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_runtime_role_cannot_truncate(as_runtime, table):
    error = refused(as_runtime, f"TRUNCATE {table} CASCADE")

    assert f"permission denied for table {table}" in str(error)


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_runtime_role_cannot_delete(as_runtime, table):
    refused(as_runtime, f"DELETE FROM {table}")


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_runtime_role_cannot_update(as_runtime, table):
    refused(as_runtime, f"UPDATE {table} SET id = id")


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_runtime_role_cannot_disable_the_triggers(as_runtime, table):
    error = refused(as_runtime, f"ALTER TABLE {table} DISABLE TRIGGER ALL")

    assert f"must be owner of table {table}" in str(error)


@pytest.mark.parametrize(
    "statement",
    [
        f"DROP TRIGGER {EVENTS_TRIGGER} ON {EVENTS}",
        f"ALTER TABLE {EVENTS} OWNER TO CURRENT_USER",
        f"DROP TABLE {EVENTS}",
        f"CREATE TRIGGER t BEFORE INSERT ON {EVENTS} EXECUTE FUNCTION pg_catalog.now()",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('audit', 'x', now())",
    ],
)
def test_runtime_role_cannot_change_the_schema(as_runtime, statement):
    refused(as_runtime, statement)


def test_runtime_role_has_exactly_the_runtime_privileges_on_every_table(runtime_role, db):
    """No TRUNCATE, REFERENCES or TRIGGER anywhere; the logs only SELECT and INSERT; the chain
    head no DELETE; every other table of the application the four ordinary ones."""
    every = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    tables = connection.introspection.django_table_names(only_existing=True)
    assert set(APPEND_ONLY) | {HEAD, "orders_order"} <= set(tables)
    held = {}
    with connection.cursor() as cursor:
        # The database cache (palegg_cache) is no model, and every node writes and expires it.
        for table in [*tables, "django_migrations", *db_roles.cache_tables()]:
            cursor.execute(
                "SELECT " + ", ".join(["has_table_privilege(%s, %s, %s)"] * len(every)),
                [arg for p in every for arg in (runtime_role, table, p)],
            )
            held[table] = {p for p, has in zip(every, cursor.fetchone(), strict=True) if has}

    for table, privileges in held.items():
        if table in APPEND_ONLY:
            assert privileges == {"SELECT", "INSERT"}, table
        elif table == HEAD:
            assert privileges == {"SELECT", "INSERT", "UPDATE"}, table
        elif table == "django_migrations":
            assert privileges == {"SELECT"}, table
        else:
            assert privileges == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table


# --- the chain head as the runtime role ---------------------------------------------------


def head_statements(conn, *statements):
    """In one rolled-back transaction as the runtime role: a head at #0 (as after migrate),
    then ``statements``; returns the error of the last one."""
    with pytest.raises(psycopg.Error) as caught:
        with conn.transaction(force_rollback=True):
            conn.execute(
                f"INSERT INTO {HEAD} (id, sequence, hash) VALUES (1, 0, '') "
                "ON CONFLICT (id) DO NOTHING"
            )
            conn.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [ALL_TRIGGERS])
            for statement in statements:
                conn.execute(statement)
    return caught.value


def test_runtime_role_cannot_move_the_head_back_even_with_the_trigger_set_aside(as_runtime):
    error = head_statements(
        as_runtime,
        f"UPDATE {HEAD} SET sequence = sequence + 2",
        f"UPDATE {HEAD} SET sequence = sequence - 1",
    )

    assert isinstance(error, errors.RaiseException)
    assert "audit chain head: never moves back" in str(error)


def test_runtime_role_cannot_give_the_head_a_made_up_hash(as_runtime):
    error = head_statements(as_runtime, f"UPDATE {HEAD} SET hash = repeat('f', 64)")

    assert isinstance(error, errors.RaiseException)
    assert "is not an event in the access log" in str(error)


def test_runtime_role_cannot_remove_the_head(as_runtime):
    error = head_statements(as_runtime, f"DELETE FROM {HEAD}")

    assert isinstance(error, errors.InsufficientPrivilege)


# --- the chain head, even for the owner ---------------------------------------------------


def refused_for_the_owner(**fields):
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        ChainHead.objects.filter(pk=1).update(**fields)
    assert "audit chain head" in str(caught.value)
    return str(caught.value)


def test_the_owner_cannot_move_the_head_back_or_to_a_made_up_event(db):
    events = record_events(3)

    assert "never moves back (from #3 to #2)" in refused_for_the_owner(
        sequence=2, hash=events[1].hash
    )
    assert "#3 with hash" in refused_for_the_owner(hash="f" * 64)
    # A real hash under another event's number is no event either.
    assert "is not an event" in refused_for_the_owner(sequence=4, hash=events[0].hash)
    with pytest.raises(DatabaseError, match="never removed"), transaction.atomic():
        ChainHead.objects.all().delete()
    with pytest.raises(DatabaseError, match="is not an event"), transaction.atomic():
        ChainHead.objects.create(pk=2, sequence=3, hash="e" * 64)

    head = ChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (3, events[-1].hash)
    # The append path still moves it, one event at a time.
    record_events(1)
    assert chain.verify().broken is None


def test_the_owner_may_set_the_head_trigger_aside_as_a_repair(db):
    """pgtrigger.ignore works for the tables' owner (the tests' tampering, a repair by hand)."""
    record_events(2)

    with behind_the_applications_back():
        ChainHead.objects.filter(pk=1).update(sequence=0, hash="")

    assert ChainHead.objects.get(pk=1).sequence == 0


# --- what the application does as the runtime role ---------------------------------------

APPLICATION_AT_WORK = """
import json, os
from django.core.management import CommandError, call_command
from django.test import Client
import audit
from municipalities.models import Authority, HealthPersonnel, User
from tests import factories

given = json.loads(os.environ["TEST_GIVEN"])
caseworker = User.objects.get(username="saksbehandler")
for n in range(3):
    audit.record(
        user=caseworker, action=audit.Action.VIEW_CASE, target=f"order:{n}", detail=f"read {n}"
    )
order = factories.issue_order(
    caseworker=caseworker,
    authority=Authority.objects.get(pk=given["authority"]),
    personnel=HealthPersonnel.objects.get(hpr_number="9000001"),
    number=4321,
)
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(caseworker)
page = client.get(f"/saker/{order.pk}/")
call_command("run_deadlines", stdout=open("/dev/null", "w"))
# The shared database cache (spent login states): set, read, expire.
from django.core.cache import cache
cache.set("runtime-role-probe", "1", timeout=60)
assert cache.get("runtime-role-probe") == "1"
cache.delete("runtime-role-probe")
call_command("verify_audit", "--anchor", given["anchors"], stdout=open("/dev/null", "w"))
try:
    call_command(
        "archive_audit", "--days", "1", "--performed-by", "Kari", "--output-dir", given["out"]
    )
    archive = "archived"
except CommandError as error:
    archive = str(error)
print("RESULT", json.dumps({"order": order.pk, "status": page.status_code,
    "shown": order.case_number in page.content.decode(), "archive": archive}))
"""


def run_as(role, code, tmp_path, **given):
    env = {
        **os.environ,
        "TEST_GIVEN": json.dumps(given),
        "DATABASE_URL": "postgres://{user}@{host}:{port}/{dbname}".format(**runtime_dsn(role)),
        "PALEGG_DEVELOPMENT": "1",
        "PALEGG_VAR_DIR": str(tmp_path / "var"),
        "PALEGG_DOCUMENT_ROOT": str(tmp_path / "documents"),
    }
    env.pop("DATABASE_OWNER_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [result] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(result.removeprefix("RESULT "))


@pytest.mark.django_db(transaction=True)
def test_the_application_works_as_the_runtime_role(runtime_role, world, tmp_path):
    """Access events through the real append path, an order issued through its service (with
    history, permissions and workflow rows), a logged page view with its session, the deadline
    run and an anchored verification: all as the runtime role. Archiving is the owner's."""
    anchors = tmp_path / "anchors.jsonl"

    result = run_as(
        runtime_role,
        APPLICATION_AT_WORK,
        tmp_path,
        authority=world.authority.pk,
        anchors=str(anchors),
        out=str(tmp_path / "archive"),
    )

    assert (result["status"], result["shown"]) == (200, True)
    order = Order.objects.get(pk=result["order"])
    assert order.history.exists()
    assert AccessEvent.objects.filter(action="view_case", detail__startswith="read ").count() == 3
    assert AccessEvent.objects.filter(case_id=str(order.pk)).exists()
    assert "archive_audit must run as the tables' owner" in result["archive"]
    assert not (tmp_path / "archive").exists()
    report = chain.verify()
    assert report.broken is None
    assert report.checked == AccessEvent.objects.count() >= 4
    # What the runtime role anchored holds for the owner's check too.
    assert "agrees with all 1 earlier anchors" in verify_audit("--anchor", str(anchors))


# --- grant_runtime_role ------------------------------------------------------------------


def grant(*args):
    out = StringIO()
    call_command("grant_runtime_role", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def privilege(role, table, kind):
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, kind])
        return cursor.fetchone()[0]


def test_granting_again_takes_away_what_was_granted_by_hand(runtime_role, db):
    role = pgsql.Identifier(runtime_role).as_string(connection.connection)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT ALL ON {EVENTS}, {HEAD}, orders_order TO {role}")
    assert privilege(runtime_role, EVENTS, "TRUNCATE")

    output = grant(runtime_role)

    assert f"Granted {runtime_role} its runtime privileges" in output
    assert not privilege(runtime_role, EVENTS, "TRUNCATE")
    assert not privilege(runtime_role, EVENTS, "UPDATE")
    assert not privilege(runtime_role, HEAD, "DELETE")
    assert not privilege(runtime_role, "orders_order", "TRUNCATE")
    assert privilege(runtime_role, "orders_order", "DELETE")


def test_granting_to_a_superuser_is_refused(db):
    with pytest.raises(CommandError, match="is a superuser"):
        grant(connection.settings_dict["USER"])


def test_granting_to_a_role_that_owns_a_table_is_refused(runtime_role, db):
    owner = f"{runtime_role}_owner"[:63]
    quoted = pgsql.Identifier(owner).as_string(connection.connection)
    with connection.cursor() as cursor:
        # Rolled back with the test's transaction, role and all.
        cursor.execute(f"CREATE ROLE {quoted}")
        cursor.execute(f"ALTER TABLE orders_notification OWNER TO {quoted}")

    with pytest.raises(CommandError, match="owns orders_notification"):
        grant(owner)


def test_granting_to_a_role_that_does_not_exist_is_refused(db):
    with pytest.raises(CommandError, match="There is no database role 'palegg_nobody_x'"):
        grant("palegg_nobody_x")
