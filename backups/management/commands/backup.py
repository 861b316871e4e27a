"""Back up the database, the evidence documents and the audit archive into one directory
(backups.archive says what is in it). ``backup_drill`` is its restore test."""

from pathlib import Path

import dj_database_url
from django.core.management.base import BaseCommand
from django.db import connection

from backups import archive


def database_settings(url):
    """The database to copy: DATABASE_URL's, or ``url`` (a role that may read every table
    and sequence, e.g. DATABASE_OWNER_URL, where the runtime role may not)."""
    return dj_database_url.parse(url) if url else connection.settings_dict


class Command(BaseCommand):
    help = "Backs up the database, the evidence documents and the audit archive into --to."

    def add_arguments(self, parser):
        parser.add_argument("--to", type=Path, required=True, help="Directory of backups.")
        parser.add_argument("--database-url", default="", help="Connect as this instead.")

    def handle(self, *args, to, database_url, **options):
        made = archive.make(to, database_settings(database_url))
        self.stdout.write(self.style.SUCCESS(f"Backup written to {made}"))
