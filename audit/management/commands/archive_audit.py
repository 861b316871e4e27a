"""Move access events older than the retention period to a file, and record that it was done.

The file is written and flushed before any row is removed, and the removal and its record
happen in one transaction: if anything fails, the events stay where they were.

On PostgreSQL only the tables' owner may remove access events: run it with DATABASE_URL set to
the owner's URL (DATABASE_OWNER_URL), not as the application's runtime role.
"""

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pgtrigger
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

import audit
from audit import chain
from audit.models import AccessEvent, AuditArchive


class Command(BaseCommand):
    help = (
        "Archives access events older than PALEGG_AUDIT_RETENTION_DAYS (or --days) to a "
        "JSON Lines file under PALEGG_AUDIT_ARCHIVE_DIR and removes them from the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.AUDIT_RETENTION_DAYS)
        parser.add_argument("--output-dir", type=Path, default=settings.AUDIT_ARCHIVE_DIR)
        parser.add_argument(
            "--performed-by", required=True, help="Who runs the archiving (name or username)."
        )

    def handle(self, *args, days, output_dir, performed_by, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        # Asked before any file is written: a file left behind would block the next run.
        if not may_remove_events():
            raise CommandError(OWNER_ONLY)
        report = chain.verify()
        if report.broken is not None:
            raise CommandError(
                f"The chain is broken ({report.broken}); nothing is archived until that is "
                "investigated."
            )
        cutoff = timezone.now() - timedelta(days=days)
        # Only an unbroken prefix of the chain leaves: up to the first event at or after the
        # cutoff (should the clock ever have stepped back, a newer event is never swept along).
        newer = AccessEvent.objects.filter(at__gte=cutoff).order_by("sequence").first()
        events = AccessEvent.objects.order_by("sequence")
        if newer is not None:
            events = events.filter(sequence__lt=newer.sequence)
        first = events.first()
        if first is None:
            self.stdout.write(f"No access events older than {days} days.")
            return
        last = events.last()
        output_dir.mkdir(parents=True, exist_ok=True)
        path = output_dir / f"access-log-{first.sequence}-{last.sequence}.jsonl"
        if path.exists():
            raise CommandError(f"{path} exists already; nothing is overwritten.")
        digest, count = hashlib.sha256(), 0
        with path.open("x", encoding="utf-8") as archive_file:
            for event in events.iterator(chunk_size=2000):
                line = json.dumps(
                    {**chain.content_of(event), "hash": event.hash}, ensure_ascii=False
                )
                archive_file.write(line + "\n")
                digest.update((line + "\n").encode())
                count += 1
            archive_file.flush()
        with transaction.atomic():
            AuditArchive.objects.create(
                archived_at=timezone.now(),
                performed_by=performed_by,
                cutoff=cutoff,
                first_sequence=first.sequence,
                last_sequence=last.sequence,
                last_hash=last.hash,
                event_count=count,
                file_name=str(path),
                file_sha256=digest.hexdigest(),
            )
            self._remove(first.sequence, last.sequence, path)
            audit.record(
                action=audit.Action.ARCHIVE_AUDIT,
                target=f"archive:{first.sequence}-{last.sequence}",
                detail=f"{count} events to {path.name} by {performed_by}",
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Archived {count} events (#{first.sequence}–#{last.sequence}) to {path}."
            )
        )

    def _remove(self, first, last, path):
        # The only removal of access events there is: on PostgreSQL the append-only trigger is
        # set aside for this statement, in this transaction (the runtime role may not DELETE).
        with pgtrigger.ignore("audit.AccessEvent:append_only"):
            with connection.cursor() as cursor:
                try:
                    cursor.execute(
                        f"DELETE FROM {TABLE} WHERE sequence BETWEEN %s AND %s", [first, last]
                    )
                except DatabaseError as error:
                    if getattr(error.__cause__, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                        raise CommandError(
                            f"{OWNER_ONLY} {path} was written before the refusal; its events "
                            "are still in the database, so the file may be removed."
                        ) from error
                    raise


TABLE = AccessEvent._meta.db_table
INSUFFICIENT_PRIVILEGE = "42501"
OWNER_ONLY = (
    f"This database role may not remove access events (no DELETE on {TABLE}): archive_audit "
    "must run as the tables' owner, with DATABASE_URL set to DATABASE_OWNER_URL. Nothing was "
    "archived."
)


def may_remove_events() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'DELETE')", [TABLE])
        return cursor.fetchone()[0]
