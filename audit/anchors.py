"""Anchors: the access log's newest link, written outside the database, and the check that the
chain still leads through every link anchored before.

Inside the database a consistent rewrite of the whole chain (every event re-hashed, the head
reset) cannot be told from the real one; a line the database's administrators cannot change can.
``verify_audit --anchor FILE`` checks the chain against every line of FILE, then appends one
(JSON: the time in UTC, the newest event's sequence number and hash). The file belongs on
another machine, or is made append-only (``chattr +a``); it is opened with O_APPEND and each
line is flushed to disk (fsync) before the command reports success.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import chain
from .models import AccessEvent, AuditArchive, ChainHead


class AnchorFileError(Exception):
    """The anchor file (or an archive file an anchor points into) cannot be read or written."""


@dataclass(frozen=True)
class Anchor:
    line: int
    at: str
    sequence: int
    hash: str

    def __str__(self):
        return f"the anchor of {self.at} (line {self.line}): #{self.sequence} {self.hash}"


@dataclass(frozen=True)
class Mismatch:
    anchor: Anchor
    problem: str

    def __str__(self):
        return f"{self.anchor}: {self.problem}"


def line_for(report: chain.Report, at: datetime | None = None) -> str:
    """The anchor line for an intact chain's newest link."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    record = {
        "at": at.isoformat(timespec="seconds"),
        "sequence": report.sequence,
        "hash": report.head_hash,
    }
    return json.dumps(record, sort_keys=True) + "\n"


def read(path: Path) -> list[Anchor]:
    """Every anchor in ``path``, oldest first; none if the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise AnchorFileError(f"{path} cannot be read: {error}") from error
    anchors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            anchor = Anchor(number, str(record["at"]), int(record["sequence"]), record["hash"])
            if not isinstance(anchor.hash, str) or anchor.sequence < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError) as error:
            # Cut short or edited: either way the anchors cannot be trusted as they stand.
            raise AnchorFileError(f"line {number} of {path} is not an anchor: {line!r}") from error
        anchors.append(anchor)
    return anchors


def check(anchors: list[Anchor]) -> Mismatch | None:
    """The first anchor the chain no longer agrees with: its event gone (and in no archive) or
    with another hash, or the head behind it. Archived events are checked in their file."""
    if not anchors:
        return None
    head = ChainHead.objects.filter(pk=1).first()
    head_sequence = head.sequence if head else 0
    newest = max(anchors, key=lambda a: a.sequence)
    if head_sequence < newest.sequence:
        return Mismatch(
            newest, f"the chain head is at #{head_sequence}, behind this anchor (moved back)"
        )
    wanted = {a.sequence for a in anchors if a.sequence > 0}
    found = _in_database(wanted)
    found.update(_in_archives(wanted - found.keys()))
    for anchor in anchors:
        if anchor.sequence == 0:
            # Anchored while the chain was empty: nothing to find.
            continue
        if anchor.sequence not in found:
            problem = "its event is missing from the access log and from every archive"
            return Mismatch(anchor, problem)
        located = found[anchor.sequence]
        if located.problem:
            return Mismatch(anchor, located.problem)
        if located.hash != anchor.hash:
            return Mismatch(
                anchor,
                f"the event {located.where} has hash {located.hash} (the chain has been "
                "rewritten)",
            )
    return None


@dataclass(frozen=True)
class _Located:
    hash: str
    where: str
    problem: str = ""


def _in_database(sequences, chunk=1000) -> dict[int, _Located]:
    wanted, found = sorted(sequences), {}
    for start in range(0, len(wanted), chunk):
        rows = AccessEvent.objects.filter(sequence__in=wanted[start : start + chunk])
        for sequence, hash_ in rows.values_list("sequence", "hash"):
            found[sequence] = _Located(hash_, "in the access log")
    return found


def _in_archives(sequences) -> dict[int, _Located]:
    """The anchored events that archive_audit moved to its files, each file read once: the
    file must still match the SHA-256 in its record, and the event's line its own hash."""
    found = {}
    for archive in AuditArchive.objects.order_by("first_sequence"):
        inside = {s for s in sequences if archive.first_sequence <= s <= archive.last_sequence}
        if inside:
            found.update(_in_archive(archive, inside))
    return found


def _in_archive(archive, inside) -> dict[int, _Located]:
    path = Path(archive.file_name)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AnchorFileError(
            f"The archive {path} holds anchored events but cannot be read: {error}"
        ) from error
    where = f"in the archive {path.name}"
    if hashlib.sha256(data).hexdigest() != archive.file_sha256:
        problem = f"the archive {path} holding its event no longer matches its recorded SHA-256"
        return {sequence: _Located("", where, problem) for sequence in inside}
    found = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        try:
            content = json.loads(line)
            stored, sequence = content.pop("hash"), content["sequence"]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise AnchorFileError(f"line {number} of {path} is not an archived event") from error
        if sequence not in inside:
            continue
        problem = ""
        if chain.hash_of_content(content) != stored:
            problem = f"its line {where} has been changed (hash does not match)"
        found[sequence] = _Located(stored, where, problem)
    return found


def append(path: Path, line: str) -> None:
    """Append ``line`` to ``path`` and have it on disk before returning."""
    created = not path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            # The new file's name is on disk too.
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
    except OSError as error:
        raise AnchorFileError(f"{path} cannot be appended to: {error}") from error
