"""A backup of everything Pålegg keeps, in one directory that a restore needs nothing else for:

    manifest.json      what is in it, with a SHA-256 of every part and every document, and
                       the row count of every table as dumped
    database.dump      pg_dump -Fc (PostgreSQL), or database.sqlite3 (SQLite)
    documents.tar      every object under the evidence prefix of the document storage
    audit-archive/     the files archive_audit moved old access events to
    audit-anchor       the copy of the access log's newest hash, when one is kept

The database is copied first and the documents after it: a document is stored before the row
that names it is committed and is never deleted, so every row in the dump finds its file.
"""

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from courses.models import EVIDENCE_PREFIX

from . import databases

FORMAT = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents.tar"
AUDIT_ARCHIVE = "audit-archive"
ANCHOR = "audit-anchor"
PREFIX = "palegg-backup-"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stored_names(storage, top: str) -> list[str]:
    """Every file name under ``top`` in ``storage``, sorted (listdir works on S3 too)."""
    try:
        directories, files = storage.listdir(top)
    except FileNotFoundError:
        return []
    names = [f"{top.rstrip('/')}/{name}" for name in files]
    for directory in directories:
        names += stored_names(storage, f"{top.rstrip('/')}/{directory}")
    return sorted(names)


def _add_documents(tar_path: Path, storage) -> dict:
    files = {}
    with tarfile.open(tar_path, "w") as tar:
        for name in stored_names(storage, EVIDENCE_PREFIX):
            digest, size = hashlib.sha256(), 0
            with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as copy:
                with storage.open(name, "rb") as stored:
                    for chunk in iter(lambda s=stored: s.read(CHUNK), b""):
                        digest.update(chunk)
                        copy.write(chunk)
                        size += len(chunk)
                copy.seek(0)
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = size, 0o600, int(time.time())
                tar.addfile(info, copy)
            files[name] = {"size": size, "sha256": digest.hexdigest()}
    return files


def anchor_file() -> Path | None:
    """The file verify_audit's anchor (the newest hash, kept apart) is written to, if any."""
    configured = getattr(settings, "AUDIT_ANCHOR_FILE", None) or os.environ.get(
        "PALEGG_AUDIT_ANCHOR_FILE"
    )
    return Path(configured) if configured else None


def make(to: Path, database_settings, storage=None) -> Path:
    """Write a backup under ``to`` and return its directory. It is built under a hidden name
    and renamed when complete, so a half-made backup is never taken for the latest."""
    storage = storage or default_storage
    database = databases.for_settings(database_settings)
    to.mkdir(parents=True, exist_ok=True)
    made = timezone.now()
    name = PREFIX + made.strftime("%Y%m%dT%H%M%S%fZ")
    # mkdtemp makes it readable by its owner only: it holds evidence and the access log.
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=to))
    try:
        # The anchors are copied before the dump: the chain head only moves forward, so every
        # anchor in the copy lies within the dumped chain, which the drill checks against them.
        anchor = anchor_file()
        if anchor is not None and anchor.is_file():
            shutil.copy2(anchor, work / ANCHOR)
        counts = database.dump(work / database.dump_name)
        documents = _add_documents(work / DOCUMENTS, storage)
        archived = {}
        source = Path(settings.AUDIT_ARCHIVE_DIR)
        if source.is_dir():
            (work / AUDIT_ARCHIVE).mkdir()
            for path in sorted(source.iterdir()):
                if path.is_file():
                    shutil.copy2(path, work / AUDIT_ARCHIVE / path.name)
                    archived[path.name] = sha256_of(path)
        manifest = {
            "format": FORMAT,
            "made": made.isoformat(),
            "database": {
                "vendor": database.vendor,
                "file": database.dump_name,
                "sha256": sha256_of(work / database.dump_name),
                "tables": counts,
            },
            "documents": {
                "file": DOCUMENTS,
                "sha256": sha256_of(work / DOCUMENTS),
                "files": documents,
            },
            "audit_archive": archived,
            "anchor": sha256_of(work / ANCHOR) if (work / ANCHOR).exists() else None,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        for path in work.rglob("*"):
            if path.is_file():
                path.chmod(0o600)
        final = to / name
        work.rename(final)
        return final
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def sha256_stored(storage, name: str) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as stored:
        for chunk in iter(lambda: stored.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unpack_documents(backup: Path, manifest: dict, storage, fail) -> set[str]:
    """Put every document of the backup into ``storage`` under its own name, checking each
    against the manifest on the way; ``fail(text)`` is told what is wrong. A document already
    there with the same bytes is left alone; one with other bytes is never overwritten.
    Returns the names now in storage."""
    listed = dict(manifest["documents"]["files"])
    path = backup / manifest["documents"]["file"]
    restored = set()
    if not path.is_file():
        return restored
    with tarfile.open(path) as tar:
        for member in tar:
            if not member.isfile():
                fail(f"documents: {member.name!r} is not a plain file")
                continue
            expected = listed.pop(member.name, None)
            content = tar.extractfile(member)
            digest = hashlib.sha256()
            for chunk in iter(lambda c=content: c.read(CHUNK), b""):
                digest.update(chunk)
            if expected is None:
                fail(f"document {member.name}: in the tar file but not in the manifest")
            elif digest.hexdigest() != expected["sha256"]:
                fail(
                    f"document {member.name}: its bytes in the backup are not the ones "
                    "the manifest recorded"
                )
            try:
                if storage.exists(member.name):
                    if sha256_stored(storage, member.name) != digest.hexdigest():
                        fail(f"document {member.name}: in storage with other bytes; kept as is")
                    else:
                        restored.add(member.name)
                    continue
                content.seek(0)
                saved = storage.save(member.name, File(content, name=member.name))
            except SuspiciousFileOperation:
                fail(f"document {member.name!r}: a name outside the document store")
                continue
            if saved != member.name:
                fail(f"document {member.name}: restored as {saved}")
            restored.add(saved)
    for name in listed:
        fail(f"document {name}: in the manifest but not in the tar file")
    return restored


def latest(path: Path) -> Path | None:
    """``path`` itself if it is a backup, else the newest complete backup in it."""
    if (path / MANIFEST).is_file():
        return path
    found = sorted(p for p in path.glob(PREFIX + "*") if p.is_dir() and (p / MANIFEST).is_file())
    return found[-1] if found else None
