"""The restore test of a backup: restore it into a scratch database and a scratch document
store, then check that it is whole. Every check runs and is reported, failed or not:

- each part of the backup still has the checksum its manifest gives;
- verify_audit passes on the restored database (the access log's chain survived);
- every table has the row count it had when dumped;
- every evidence row's file was restored, with the size and SHA-256 the row recorded;
- every archive of old access events is there, with the SHA-256 its record gives.

The scratch database and files are removed afterwards, also when something failed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management.base import CommandError

from audit.models import AuditArchive
from courses.models import EvidenceDocument

from . import archive, databases

VERIFY_SECONDS = 3600


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def ok(self, text):
        self.lines.append(f"[ok]   {text}")

    def fail(self, text):
        self.lines.append(f"[FAIL] {text}")
        self.problems.append(text)

    def warn(self, text):
        self.lines.append(f"[warn] {text}")
        self.warnings.append(text)

    @property
    def passed(self) -> bool:
        return not self.problems


def _check_parts(backup: Path, manifest: dict, report: Report):
    parts = [
        ("database dump", manifest["database"]["file"], manifest["database"]["sha256"]),
        ("documents", manifest["documents"]["file"], manifest["documents"]["sha256"]),
    ]
    parts += [
        ("audit archive", f"{archive.AUDIT_ARCHIVE}/{name}", sha256)
        for name, sha256 in sorted(manifest["audit_archive"].items())
    ]
    if manifest["anchor"]:
        parts.append(("audit anchor", archive.ANCHOR, manifest["anchor"]))
    for label, name, expected in parts:
        path = backup / name
        if not path.is_file():
            report.fail(f"{label} {name} is missing from the backup")
        elif archive.sha256_of(path) != expected:
            report.fail(f"{label} {name} is not the file the manifest describes (SHA-256)")
        else:
            report.ok(f"{label} {name} matches its manifest")


def _verify_audit(scratch, report: Report, anchors: Path | None = None):
    """verify_audit on the restored database; with the backup's anchors (a copy: verify_audit
    appends one), also against every hash anchored outside the database before the dump."""
    env = {**os.environ, "DATABASE_URL": scratch.url}
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "verify_audit"]
    if anchors is not None:
        command += ["--anchor", str(anchors)]
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=VERIFY_SECONDS,
    )
    said = " ".join((done.stdout + done.stderr).split())
    if done.returncode == 0:
        report.ok(f"verify_audit on the restored database: {said}")
    else:
        report.fail(f"verify_audit on the restored database failed: {said}")


def _check_counts(scratch, manifest: dict, report: Report):
    expected = manifest["database"]["tables"]
    found = scratch.counts()
    wrong = 0
    for table in sorted(set(expected) | set(found)):
        if table not in found:
            report.fail(f"table {table}: not in the restored database")
        elif table not in expected:
            report.fail(f"table {table}: in the restored database, not in the manifest")
        elif found[table] != expected[table]:
            report.fail(f"table {table}: {expected[table]} row(s) dumped, {found[table]} restored")
        else:
            continue
        wrong += 1
    if not wrong:
        report.ok(f"row counts: all {len(expected)} tables as dumped")


def _check_documents(scratch, storage, restored: set[str], report: Report):
    meta = EvidenceDocument._meta
    columns = ", ".join(meta.get_field(f).column for f in ("id", "file", "size", "sha256"))
    rows = scratch.rows(f'SELECT {columns} FROM "{meta.db_table}" ORDER BY 1')
    good = 0
    for pk, name, size, sha256 in rows:
        if not storage.exists(name):
            report.fail(f"document {pk} ({name}): no file restored for it")
            continue
        if not sha256:
            report.warn(f"document {pk} ({name}): the row has no checksum to compare with")
        elif archive.sha256_stored(storage, name) != sha256:
            report.fail(f"document {pk} ({name}): the restored file's SHA-256 is not the row's")
            continue
        if storage.size(name) != size:
            report.fail(
                f"document {pk} ({name}): restored with {storage.size(name)} bytes, "
                f"the row says {size}"
            )
            continue
        good += 1
    if good == len(rows):
        report.ok(f"documents: all {good} evidence row(s) have their file, checksums match")
    unnamed = restored - {name for _pk, name, _size, _sha256 in rows}
    if unnamed:
        # Stored for an upload that failed before its row was kept, or after the dump.
        report.warn(f"documents: {len(unnamed)} file(s) in the backup that no evidence row names")


def _check_audit_archive(backup: Path, scratch, report: Report):
    meta = AuditArchive._meta
    columns = ", ".join(meta.get_field(f).column for f in ("file_name", "file_sha256"))
    rows = scratch.rows(f'SELECT {columns} FROM "{meta.db_table}" ORDER BY 1')
    for file_name, sha256 in rows:
        copy = backup / archive.AUDIT_ARCHIVE / Path(file_name).name
        if not copy.is_file():
            report.fail(f"audit archive {Path(file_name).name}: not in the backup")
        elif archive.sha256_of(copy) != sha256:
            report.fail(f"audit archive {Path(file_name).name}: not the file its record names")
    if not rows:
        report.ok("audit archive: no access events have been archived")
    elif not any(p.startswith("audit archive") for p in report.problems):
        report.ok(f"audit archive: all {len(rows)} file(s) there, checksums match")


def run(backup: Path, database_settings, *, keep_scratch=False) -> tuple[Report, list[str]]:
    """Restore ``backup`` into scratch places and check it; returns the report and, with
    ``keep_scratch``, where the scratch copies were left."""
    report = Report()
    manifest = json.loads((backup / archive.MANIFEST).read_text())
    if manifest.get("format") != archive.FORMAT:
        report.fail(f"backup {backup} is of format {manifest.get('format')}, not {archive.FORMAT}")
        return report, []
    report.ok(f"backup {backup} made {manifest['made']}")
    database = databases.for_settings(database_settings)
    if manifest["database"]["vendor"] != database.vendor:
        report.fail(
            f"the backup is of a {manifest['database']['vendor']} database, this is "
            f"{database.vendor}"
        )
        return report, []
    _check_parts(backup, manifest, report)
    scratch_dir = Path(tempfile.mkdtemp(prefix="palegg-drill-"))
    scratch = None
    try:
        storage = FileSystemStorage(location=scratch_dir / "documents")
        restored = archive.unpack_documents(backup, manifest, storage, report.fail)
        report.ok(f"documents: {len(restored)} file(s) unpacked into scratch storage")
        try:
            scratch = database.restore_scratch(backup / manifest["database"]["file"], scratch_dir)
        except CommandError as error:
            report.fail(f"the database could not be restored: {error}")
            return report, [str(scratch_dir)] if keep_scratch else []
        report.ok(f"database restored into {scratch}")
        anchors = None
        if manifest["anchor"]:
            anchors = scratch_dir / "anchors.jsonl"
            shutil.copy2(backup / archive.ANCHOR, anchors)
        _verify_audit(scratch, report, anchors)
        _check_counts(scratch, manifest, report)
        _check_documents(scratch, storage, restored, report)
        _check_audit_archive(backup, scratch, report)
    finally:
        if keep_scratch:
            kept = [str(scratch_dir)] + ([str(scratch)] if scratch else [])
        else:
            kept = []
            if scratch is not None:
                scratch.drop()
            shutil.rmtree(scratch_dir, ignore_errors=True)
    return report, kept
