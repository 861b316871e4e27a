"""Import a fastlegeregister (GP register) CSV extract: ``manage.py import_gp_register FILE``.

Prints what was created, updated, left unchanged and rejected, and why each rejected line was
rejected. Exits non-zero only when the file as a whole could not be read.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from municipalities.gp_register import GPRegisterFileError, import_gp_register
from municipalities.models import User

#: Shorter files import in well under a second; a bar would only flicker.
PROGRESS_FROM_ROWS = 1000


class Command(BaseCommand):
    help = "Import GPs and GP offices from a fastlegeregister CSV extract (semicolons, UTF-8)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV extract")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="the user the change history names (default: none)",
        )

    def handle(self, *args, file, username=None, **options):
        acting_user = None
        if username:
            try:
                acting_user = User.objects.get(username=username)
            except User.DoesNotExist:
                raise CommandError(
                    _("No user named %(username)s.") % {"username": username}
                ) from None

        try:
            summary = import_gp_register(file, acting_user=acting_user, progress=self._progress)
        except GPRegisterFileError as error:
            raise CommandError(
                _("%(file)s was not imported: %(reason)s") % {"file": file, "reason": error.message}
            ) from None

        self.stdout.write(
            _(
                "GPs: %(created)d created, %(updated)d updated, %(unchanged)d unchanged, "
                "%(rejected)d rejected."
            )
            % {
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
            }
        )
        self.stdout.write(
            _("GP offices: %(created)d created, %(updated)d updated.")
            % {"created": summary.offices_created, "updated": summary.offices_updated}
        )
        if summary.ignored_columns:
            self.stdout.write(
                _("Columns ignored: %(columns)s.") % {"columns": ", ".join(summary.ignored_columns)}
            )
        for rejection in summary.rejections:
            self.stdout.write(
                _("line %(line)d: %(reason)s")
                % {"line": rejection.line, "reason": rejection.message}
            )

    def _progress(self, total):
        # tqdm needs the raw stream: Django's OutputWrapper ends every write with a newline.
        # disable=None turns the bar off when the stream is not a terminal (pipes, tests).
        return tqdm(
            total=total,
            desc=_("Importing"),
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=None if total >= PROGRESS_FROM_ROWS else True,
            leave=False,
        )
