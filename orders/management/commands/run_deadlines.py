"""The one scheduled command: fire the workflow's due timers (reminders, overdue notices,
follow-up tasks), sweep the course-terms deadlines, and e-mail notices not yet sent.

Run it every few minutes from cron or a systemd timer (see README). Running it twice in a row
sends nothing twice and creates no task twice: timers fire once under the case's lock, and
every notice has a unique key.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from orders import deadlines, notifications


class Command(BaseCommand):
    help = "Fires due deadline timers, sends reminders and e-mails pending notices."

    def handle(self, *args, **options):
        deadlines.refresh_missing()
        call_command("workflow_timers", stdout=self.stdout)
        terms = notifications.course_terms_notices()
        mailed = notifications.send_pending()
        self.stdout.write(f"{terms} course-terms notice(s), {mailed} e-mail(s) sent")
