"""Walk the access log's hash chain and report the first broken link (exit status 1); with
--anchor, first check it against the links anchored outside the database, then anchor the
newest one."""

import logging
import logging.handlers
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit import anchors, chain

# Exit status: 1 = the access log (or its agreement with the anchors) is broken; 2 = the anchor
# file, an archive file or syslog could not be used, so the check could not be made.
BROKEN, CANNOT_CHECK = 1, 2


class Command(BaseCommand):
    help = (
        "Checks the access log's hash chain; exits with status 1 at the first broken link. "
        "With --anchor, also checks the chain against every anchor in the file and appends the "
        "newest link to it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            nargs="?",
            const=settings.AUDIT_ANCHOR_FILE,
            metavar="FILE",
            help="Check against the anchors in FILE (default PALEGG_AUDIT_ANCHOR_FILE), then "
            "append one line (time, sequence number, hash) to it. Keep FILE outside the "
            "database's reach: another machine, or chattr +a.",
        )
        parser.add_argument(
            "--syslog",
            nargs="?",
            const="/dev/log",
            metavar="ADDRESS",
            help="Also send the anchor line to syslog: a socket path (default /dev/log) or "
            "host:port (UDP), e.g. to forward it to a remote log server.",
        )

    def handle(self, *args, anchor=None, syslog=None, **options):
        if anchor is not None:
            if not anchor:
                raise CommandError(
                    "--anchor needs a FILE, or PALEGG_AUDIT_ANCHOR_FILE set.",
                    returncode=CANNOT_CHECK,
                )
            anchor = Path(anchor)
        with chain.snapshot():
            earlier = self._check_anchors(anchor) if anchor else None
            report = chain.verify()
        if report.broken is not None:
            raise CommandError(
                f"The access log is broken after {report.checked} intact events. "
                f"First broken link: {report.broken}",
                returncode=BROKEN,
            )
        self.stdout.write(
            self.style.SUCCESS(f"The access log is intact: {report.checked} events checked.")
        )
        if earlier:
            self.stdout.write(f"It agrees with all {earlier} earlier anchors in {anchor}.")
        elif earlier is not None:
            self.stdout.write(f"No earlier anchors in {anchor}: this is the first.")
        self.stdout.write(f"Newest hash: {report.head_hash or '(empty chain)'}")
        if anchor or syslog:
            line = anchors.line_for(report)
            if anchor:
                self._write(anchors.append, anchor, line)
                self.stdout.write(f"Anchored #{report.sequence} in {anchor}.")
            if syslog:
                self._write(send_to_syslog, syslog, line)
                self.stdout.write(f"Anchored #{report.sequence} to syslog ({syslog}).")

    def _check_anchors(self, path):
        try:
            earlier = anchors.read(path)
            mismatch = anchors.check(earlier)
        except anchors.AnchorFileError as error:
            raise CommandError(str(error), returncode=CANNOT_CHECK) from error
        if mismatch is not None:
            raise CommandError(
                f"The access log no longer agrees with {path}: {mismatch}",
                returncode=BROKEN,
            )
        return len(earlier)

    def _write(self, write, where, line):
        try:
            write(where, line)
        except (anchors.AnchorFileError, OSError) as error:
            raise CommandError(
                f"The access log is intact, but the anchor could not be written: {error}",
                returncode=CANNOT_CHECK,
            ) from error


def send_to_syslog(address, line):
    """One message (facility authpriv, tag palegg-audit-anchor) to syslog at ``address``: a
    socket path, or host:port over UDP. Unlike logging's handler, a failure is raised."""
    if ":" in address and not address.startswith("/"):
        host, _, port = address.rpartition(":")
        target = (host, int(port))
    else:
        target = address
    SysLog = logging.handlers.SysLogHandler
    handler = SysLog(address=target, facility=SysLog.LOG_AUTHPRIV)
    try:
        priority = handler.encodePriority(SysLog.LOG_AUTHPRIV, "info")
        message = f"<{priority}>palegg-audit-anchor: {line.strip()}\000".encode()
        if handler.unixsocket:
            handler.socket.send(message)
        else:
            handler.socket.sendto(message, handler.address)
    finally:
        handler.close()
