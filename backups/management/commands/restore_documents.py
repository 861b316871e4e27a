"""Put the evidence documents of a backup back into the document storage PALEGG_STORAGE names
(the filesystem or the S3 bucket), each under its own name, after a database restore. A
document already there with the same bytes is left alone; nothing is ever overwritten."""

import json
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from backups import archive


class Command(BaseCommand):
    help = "Restores a backup's evidence documents into the document storage."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="source",
            type=Path,
            required=True,
            help="A backup, or a directory of backups (the newest is taken).",
        )

    def handle(self, *args, source, **options):
        backup = archive.latest(source)
        if backup is None:
            raise CommandError(f"No backup at {source}.")
        manifest = json.loads((backup / archive.MANIFEST).read_text())
        problems = []
        restored = archive.unpack_documents(backup, manifest, default_storage, problems.append)
        for problem in problems:
            self.stderr.write(f"[FAIL] {problem}")
        if problems:
            raise CommandError(f"{len(problems)} document(s) not restored.", returncode=1)
        self.stdout.write(
            self.style.SUCCESS(f"{len(restored)} document(s) from {backup.name} in storage.")
        )
