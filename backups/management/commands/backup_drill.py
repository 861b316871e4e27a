"""Prove a backup restores: restore it into a scratch database and scratch document storage,
check the access log, the row counts and every document's checksum, report, clean up.

Without --from it first makes a fresh backup (in a temporary directory, removed afterwards):
that proves the whole procedure on today's data and schema. With --from it tests a backup
already made, e.g. last night's — a backup is only known to be good once restored.
"""

import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups import archive, drill

from .backup import database_settings


class Command(BaseCommand):
    help = "Restores a backup into scratch places and checks it; exit status 1 on a mismatch."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="source",
            type=Path,
            help="A backup, or a directory of backups (the newest is taken). "
            "Default: a fresh backup.",
        )
        parser.add_argument("--database-url", default="", help="Connect as this instead.")
        parser.add_argument(
            "--keep-scratch",
            action="store_true",
            help="Leave the scratch database and files for inspection, and say where.",
        )

    def handle(self, *args, source, database_url, keep_scratch, **options):
        db = database_settings(database_url)
        fresh = None
        if source is None:
            fresh = Path(tempfile.mkdtemp(prefix="palegg-drill-backup-"))
            backup = archive.make(fresh, db)
        else:
            backup = archive.latest(source)
            if backup is None:
                raise CommandError(f"No backup at {source}.")
        try:
            report, kept = drill.run(backup, db, keep_scratch=keep_scratch)
        finally:
            if fresh is not None and not keep_scratch:
                shutil.rmtree(fresh, ignore_errors=True)
        for line in report.lines:
            self.stdout.write(line)
        for place in kept + ([str(backup)] if fresh is not None and keep_scratch else []):
            self.stdout.write(f"Kept: {place}")
        if not report.passed:
            raise CommandError(
                f"Backup drill FAILED: {len(report.problems)} problem(s). First: "
                f"{report.problems[0]}",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup drill passed ({len(report.warnings)} warning(s)): {backup.name} "
                "restores whole."
            )
        )
