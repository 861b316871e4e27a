"""Bootstrap: make a user administrator of an authority, so they can appoint the others
from the web pages. Recorded as an appointment like any other."""

from django.core.management.base import BaseCommand, CommandError

from municipalities.appointments import appoint
from municipalities.models import Appointment, Authority, User


class Command(BaseCommand):
    help = "Appoint a user as administrator of an authority (by organisation number)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("org_number")
        parser.add_argument("--reason", required=True)

    def handle(self, username, org_number, reason, **options):
        user = User.objects.filter(username=username).first()
        authority = Authority.objects.filter(org_number=org_number).first()
        if user is None or authority is None:
            raise CommandError("Unknown user or organisation number.")
        appoint(
            acting_user=None,
            user=user,
            role=Appointment.Role.ADMINISTRATOR,
            organisation=authority,
            reason=reason,
            system=True,
        )
        self.stdout.write(f"{username} administers {authority}.")
