"""Link a login to a health personnel record by HPR number."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from municipalities.appointments import link_login
from municipalities.models import User


class Command(BaseCommand):
    help = "Link a user's login to the health personnel record with the given HPR number."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("hpr_number")

    def handle(self, username, hpr_number, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username}.")
        try:
            personnel = link_login(acting_user=None, user=user, hpr_number=hpr_number)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{username} is linked to {personnel}.")
