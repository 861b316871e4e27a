"""The one scheduled command: fire the workflow's due timers (reminders, overdue notices,
follow-up tasks), sweep the course-terms deadlines, and e-mail notices not yet sent.

Run it every few minutes from cron or a systemd timer (see README), on one node or on all of
them: on PostgreSQL only one run works at a time anywhere (an advisory lock; a run that finds
it taken says so and ends at once, exit status 0). Each step is also safe to repeat, so a run
that starts just after another ended finds nothing left to do: timers fire once under the
case's lock, every notice has a unique key and every e-mail is claimed before it is sent.
"""

import hashlib
from contextlib import contextmanager

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from orders import deadlines, notifications

# One fixed 64-bit key for this command's advisory lock, taken from its name.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"palegg:run_deadlines").digest()[:8], "big", signed=True)


@contextmanager
def only_run():
    """True when this is the only run: the PostgreSQL advisory lock is ours until the block
    ends. It is a session lock, so a run that dies (killed, out of memory, the node gone)
    loses it with its connection and the next run is not kept waiting. SQLite is one file on
    one machine: its IMMEDIATE transactions serialise the writers, and the steps repeat
    safely, so there the run just goes ahead."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
            except DatabaseError:
                # The connection is gone, and the lock went with it.
                pass


class Command(BaseCommand):
    help = "Fires due deadline timers, sends reminders and e-mails pending notices."

    def handle(self, *args, **options):
        with only_run() as alone:
            if not alone:
                self.stdout.write("Another run of run_deadlines is in progress; nothing done.")
                return
            deadlines.refresh_missing()
            call_command("workflow_timers", stdout=self.stdout)
            terms = notifications.course_terms_notices()
            mailed = notifications.send_pending()
            self.stdout.write(f"{terms} course-terms notice(s), {mailed} e-mail(s) sent")
