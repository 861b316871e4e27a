"""What the application's runtime database role may do: it does not own the tables, so it cannot
truncate them, disable their triggers or alter them, and it may only add to the logs.

Migrations run as the tables' owner (``DATABASE_OWNER_URL``, ``make migrate``), which then grants
the runtime role (``DATABASE_URL``) its privileges with :func:`grant_runtime_privileges`. The
grants are revoked and given again each time, so a table added by a migration is covered by
running it again, and a privilege given by hand is taken away. PostgreSQL only.
"""

from django.apps import apps
from django.db import transaction
from psycopg import sql
from simple_history.models import HistoricalChanges

from .models import AccessEvent, AuditArchive, ChainHead

FULL = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Written once, never changed or removed (archive_audit, run as the owner, removes old events).
APPEND_ONLY = ("SELECT", "INSERT")
# The head moves forward with every event (audit.chain.append); it is never removed, and its
# trigger refuses moving it back or to an event that does not exist.
CHAIN_HEAD = ("SELECT", "INSERT", "UPDATE")
# Django's record of applied migrations: read when the server starts, written only by migrate.
MIGRATIONS_TABLE = "django_migrations"


class RoleError(Exception):
    """The role cannot be the runtime role (missing, a superuser, or an owner of the tables)."""


def history_tables() -> set[str]:
    """Every simple-history table: the history model of each model simple-history registered
    (it marks the tracked model's ``_meta``), and any other historical model (many-to-many
    history) found by its base class."""
    tables = set()
    for model in apps.get_models():
        manager = getattr(model._meta, "simple_history_manager_attribute", None)
        if manager:
            tables.add(getattr(model, manager).model._meta.db_table)
        if issubclass(model, HistoricalChanges):
            tables.add(model._meta.db_table)
    return tables


def append_only_tables() -> set[str]:
    return {AccessEvent._meta.db_table, AuditArchive._meta.db_table, *history_tables()}


def privileges_by_table(connection) -> dict[str, tuple[str, ...]]:
    """{table: privileges} for every table of the application that exists in the database."""
    append_only = append_only_tables()
    granted = {}
    for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
        if table in append_only:
            granted[table] = APPEND_ONLY
        elif table == ChainHead._meta.db_table:
            granted[table] = CHAIN_HEAD
        else:
            granted[table] = FULL
    existing = set(connection.introspection.table_names())
    if MIGRATIONS_TABLE in existing:
        granted[MIGRATIONS_TABLE] = ("SELECT",)
    # The database cache (settings.CACHES) is no model: it holds spent login states and the
    # providers' keys, which every node reads, writes and expires.
    for table in cache_tables():
        if table in existing:
            granted[table] = FULL
    return granted


def cache_tables() -> set[str]:
    from django.conf import settings

    return {
        cache["LOCATION"]
        for cache in settings.CACHES.values()
        if cache.get("BACKEND") == "django.core.cache.backends.db.DatabaseCache"
    }


def _check_role(cursor, role, schema):
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        raise RoleError(f"There is no database role {role!r}: create it first (CREATE ROLE).")
    if row[0]:
        raise RoleError(
            f"{role!r} is a superuser, which no privilege or trigger holds back: the runtime "
            "role must be an ordinary role."
        )
    # Owning a table, or having the rights of a role that does, is what the runtime role must
    # not have: the owner may truncate, alter and disable triggers whatever is granted.
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S') "
        "AND pg_has_role(%s, c.relowner, 'USAGE') ORDER BY c.relname LIMIT 1",
        [schema, role],
    )
    if (owned := cursor.fetchone()) is not None:
        raise RoleError(
            f"{role!r} owns {owned[0]} (or has the rights of its owner): the runtime role must "
            "not be the role that runs migrations. Name the runtime role (PALEGG_DB_RUNTIME_ROLE "
            "or the command's argument) and run this as the owner (DATABASE_OWNER_URL)."
        )


def grant_runtime_privileges(connection, role) -> dict[str, tuple[str, ...]]:
    """Give ``role`` exactly the runtime privileges on the database behind ``connection`` (which
    must be the tables' owner's), after taking away every privilege it had on them. One
    transaction: the role is never left with half of its grants. Returns what was granted."""
    if connection.vendor != "postgresql":
        raise RoleError("Database roles exist only on PostgreSQL.")
    role_name = sql.Identifier(role)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_schema(), current_database()")
        schema, database = cursor.fetchone()
        _check_role(cursor, role, schema)
        schema_name, database_name = sql.Identifier(schema), sql.Identifier(database)
        granted = privileges_by_table(connection)
        statements = [
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema_name, role_name),
            sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(
                schema_name, role_name
            ),
            sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(schema_name, role_name),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database_name, role_name),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_name, role_name),
        ]
        for table, privileges in sorted(granted.items()):
            statements.append(
                sql.SQL("GRANT {} ON TABLE {}.{} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                    schema_name,
                    sql.Identifier(table),
                    role_name,
                )
            )
        # nextval for the id columns; setval (UPDATE) is never needed at runtime.
        statements.append(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                schema_name, role_name
            )
        )
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))
    return granted


def may_create_in_schema(connection, role) -> bool:
    """True if ``role`` may create objects in the schema (through PUBLIC on PostgreSQL < 15)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_schema_privilege(%s, current_schema(), 'CREATE')", [role])
        return cursor.fetchone()[0]
