"""`manage.py backup`, `backup_drill` and `restore_documents`: a backup of a small world (orders, evidence,
access events, an archive of old ones) restores whole into a scratch database and scratch
files, with the real pg_dump/pg_restore on PostgreSQL and the sqlite3 backup API on SQLite;
a backup changed after it was made fails the drill, which names what is wrong. The scratch
copies are gone afterwards either way. Documents lost from storage come back from a backup,
and none that is there is overwritten.

Transactional: the data must be committed for pg_dump (another connection) to see it.
"""

import io
import json
import sqlite3
import tarfile
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.models import AccessEvent, AuditArchive
from backups import archive
from courses.models import EvidenceDocument
from tests import factories
from tests.orders import lifecycle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_world(world, client_for, settings, tmp_path):
    """Two orders with evidence, pages read (access events), and the oldest events archived."""
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "audit-archive"
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        first = lifecycle.advance(_issue(world), world.leader, "sign_off", documents=2)
        client_for(world.caseworker).get(f"/saker/{first.pk}/")
    call_command(
        "archive_audit", "--days", "7", "--performed-by", "Kari Revisor", stdout=io.StringIO()
    )
    second = lifecycle.advance(_issue(world), world.leader, "sign_off", documents=1)
    document = EvidenceDocument.objects.filter(order=second).first()
    leader = client_for(world.leader)
    assert leader.get(f"/saker/{second.pk}/dokumenter/{document.pk}/").status_code == 200
    assert EvidenceDocument.objects.count() == 3
    assert AccessEvent.objects.exists() and AuditArchive.objects.count() == 1
    return tmp_path


def _issue(world):
    return factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )


def drill(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("backup_drill", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def scratch_databases() -> list[str]:
    if connection.vendor != "postgresql":
        return []
    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None, host=s["HOST"],
        port=s["PORT"] or 5432,
    ) as conn:  # fmt: skip
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [s["NAME"][:40] + "_drill_%"]
        )
        return [row[0] for row in rows]


def make_backup(to: Path) -> Path:
    call_command("backup", "--to", str(to), stdout=io.StringIO())
    return archive.latest(to)


def test_a_fresh_backup_restores_whole(small_world):
    report, failed = drill()
    assert failed is None, report
    assert "verify_audit on the restored database: The access log is intact" in report
    assert "row counts: all" in report
    assert "documents: all 3 evidence row(s) have their file, checksums match" in report
    assert "audit archive: all 1 file(s) there, checksums match" in report
    assert "[FAIL]" not in report
    assert scratch_databases() == []


def anchor(path: Path):
    call_command("verify_audit", "--anchor", str(path), stdout=io.StringIO())


def test_the_restored_log_is_checked_against_the_anchors_kept_outside_the_database(
    small_world, settings, tmp_path
):
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    anchor(tmp_path / "anchors.jsonl")
    report, failed = drill()
    assert failed is None, report
    assert "agrees with all 1 earlier anchors" in report


def test_a_restored_log_that_disagrees_with_an_anchor_fails_the_drill(
    small_world, settings, tmp_path
):
    """As if the log had been rewritten after it was anchored: the anchored hash of the newest
    event is not the one in the database, so the backup of that database fails the drill."""
    anchors = tmp_path / "anchors.jsonl"
    settings.AUDIT_ANCHOR_FILE = str(anchors)
    anchor(anchors)
    newest = AccessEvent.objects.order_by("-sequence").first()
    with anchors.open("a") as file:
        file.write(
            json.dumps({"at": "2026-12-01T10:00:00+00:00", "hash": "0" * 64,
                        "sequence": newest.sequence}) + "\n"
        )  # fmt: skip
    report, failed = drill()
    assert failed is not None
    assert "[FAIL] verify_audit on the restored database failed" in report
    assert "no longer agrees with" in report
    assert f"#{newest.sequence}" in report
    assert scratch_databases() == []


def test_a_document_changed_in_the_backup_fails_the_drill_by_name(small_world, tmp_path):
    backup = make_backup(tmp_path / "backups")
    document = EvidenceDocument.objects.order_by("pk").last()
    tar_path = backup / archive.DOCUMENTS
    with tarfile.open(tar_path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(tar_path, "w") as tar:
        for member, content in members:
            if member.name == document.file.name:
                content = content[:-2] + b"X\n"  # same size, other bytes
            tar.addfile(member, io.BytesIO(content))

    report, failed = drill("--from", str(tmp_path / "backups"))

    assert failed is not None and failed.returncode == 1
    assert f"[FAIL] document {document.pk} ({document.file.name}): the restored file" in report
    assert f"[FAIL] document {document.file.name}: its bytes in the backup" in report
    assert "[FAIL] documents documents.tar is not the file the manifest describes" in report
    # The rest of the backup is still checked, and good.
    assert "[ok]   verify_audit on the restored database" in report
    assert scratch_databases() == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="edits the SQLite copy directly")
def test_an_access_event_changed_in_the_backup_fails_the_drill(small_world, tmp_path):
    backup = make_backup(tmp_path / "backups")
    copy = sqlite3.connect(backup / "database.sqlite3")
    copy.execute(
        f"UPDATE {AccessEvent._meta.db_table} SET detail = 'rewritten' WHERE sequence = "
        f"(SELECT max(sequence) FROM {AccessEvent._meta.db_table})"
    )
    copy.commit()
    copy.close()

    report, failed = drill("--from", str(backup))

    assert failed is not None
    assert "[FAIL] database dump database.sqlite3 is not the file the manifest" in report
    assert "[FAIL] verify_audit on the restored database failed" in report
    assert "[ok]   documents: all 3 evidence row(s)" in report


def test_lost_documents_come_back_from_a_backup_and_nothing_is_overwritten(
    small_world, tmp_path, settings
):
    backup = make_backup(tmp_path / "backups")
    lost, changed = EvidenceDocument.objects.order_by("pk")[:2]
    (settings.MEDIA_ROOT / lost.file.name).unlink()
    (settings.MEDIA_ROOT / changed.file.name).write_bytes(b"not the evidence")

    with pytest.raises(CommandError):
        call_command("restore_documents", "--from", str(backup), stdout=io.StringIO())

    assert archive.sha256_stored(default_storage, lost.file.name) == lost.sha256
    assert (settings.MEDIA_ROOT / changed.file.name).read_bytes() == b"not the evidence"
    (settings.MEDIA_ROOT / changed.file.name).unlink()
    out = io.StringIO()
    call_command("restore_documents", "--from", str(backup), stdout=out)
    assert "3 document(s)" in out.getvalue()
    for document in EvidenceDocument.objects.all():
        assert archive.sha256_stored(default_storage, document.file.name) == document.sha256
