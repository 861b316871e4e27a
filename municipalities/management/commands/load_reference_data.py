"""Load the supervisory authorities and the municipalities from municipalities/data/.

Idempotent: a second run changes nothing. Never deletes a municipality; mergers and renumberings
come from kommuneendringer.csv.
"""

from django.core.management.base import BaseCommand, CommandError

from municipalities import services
from municipalities.models import User


class Command(BaseCommand):
    help = (
        "Create or update Statens helsetilsyn, the county governors and the municipalities "
        "from the reference files (idempotent; never deletes a municipality)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--authorities",
            default=services.AUTHORITIES_FILE,
            help="Authorities file (default: municipalities/data/tilsynsmyndigheter.csv).",
        )
        parser.add_argument(
            "--municipalities",
            default=services.MUNICIPALITIES_FILE,
            help="Municipality list (default: municipalities/data/kommuner-2024.csv).",
        )
        parser.add_argument(
            "--changes",
            default=services.CHANGES_FILE,
            help="Mergers and renumberings (default: municipalities/data/kommuneendringer.csv).",
        )
        parser.add_argument(
            "--acting-user",
            metavar="USERNAME",
            help="Record this user as the author of the change history.",
        )

    def handle(self, *args, **options):
        acting_user = None
        if options["acting_user"]:
            try:
                acting_user = User.objects.get(username=options["acting_user"])
            except User.DoesNotExist as error:
                raise CommandError(f"No user {options['acting_user']!r}.") from error
        try:
            summary = services.load_reference_data(
                acting_user=acting_user,
                authorities=options["authorities"],
                municipalities=options["municipalities"],
                changes=options["changes"],
            )
        except services.ReferenceDataError as error:
            raise CommandError(str(error)) from error
        for line in summary.lines():
            self.stdout.write(line)
        if summary.unlisted:
            self.stdout.write(
                self.style.WARNING(f"{len(summary.unlisted)} municipalities need a decision.")
            )
        self.stdout.write(
            self.style.SUCCESS("Reference data loaded.")
            if summary.changed_anything
            else "Reference data already up to date; nothing changed."
        )
