"""Give the runtime database role its privileges (run as the tables' owner, after migrate)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from audit import db_roles


def default_role():
    return settings.DB_RUNTIME_ROLE or settings.DATABASES[DEFAULT_DB_ALIAS].get("USER") or ""


class Command(BaseCommand):
    help = (
        "Grants the runtime database role (default: PALEGG_DB_RUNTIME_ROLE, else the user in "
        "DATABASE_URL) what the application needs and nothing more: no TRUNCATE, no UPDATE or "
        "DELETE on the access log, the archive records and the change history. Run it as the "
        "tables' owner after every migrate (make migrate does). PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", nargs="?", help="The runtime role to grant to.")
        parser.add_argument(
            "--print-role",
            action="store_true",
            help="Print the role that would be granted to, and do nothing else.",
        )

    def handle(self, *args, role, print_role, **options):
        role = role or default_role()
        if print_role:
            self.stdout.write(role)
            return
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            self.stdout.write(
                f"The database is {connection.vendor}, which has no roles: nothing to grant."
            )
            return
        if not role:
            raise CommandError("Name the runtime role (argument or PALEGG_DB_RUNTIME_ROLE).")
        try:
            granted = db_roles.grant_runtime_privileges(connection, role)
        except db_roles.RoleError as error:
            raise CommandError(str(error)) from error
        append_only = sum(1 for p in granted.values() if p == db_roles.APPEND_ONLY)
        self.stdout.write(
            self.style.SUCCESS(
                f"Granted {role} its runtime privileges on {len(granted)} tables "
                f"({append_only} of them append-only: SELECT and INSERT)."
            )
        )
        if db_roles.may_create_in_schema(connection, role):
            self.stderr.write(
                f"Warning: {role} may create objects in the schema (through PUBLIC): run "
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC as the owner."
            )
