"""Link a login to a health personnel record by HPR number. With --email, a username that
does not exist yet is created (named from the register) and invited; the link is printed."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from municipalities.appointments import link_login, names_from_register
from municipalities.models import HealthPersonnel, User

from .appoint_administrator import create_person, print_invitation


class Command(BaseCommand):
    help = (
        "Link a user's login to the health personnel record with the given HPR number. With "
        "--email, a user that does not exist is created from the register and invited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("hpr_number")
        parser.add_argument("--email", default="")

    def handle(self, username, hpr_number, email, **options):
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                if not email:
                    raise CommandError(f"No user named {username}. To create one, give --email.")
                personnel = HealthPersonnel.objects.filter(hpr_number=hpr_number).first()
                if personnel is None:
                    raise CommandError(
                        f"No health personnel with HPR number {hpr_number} is registered."
                    )
                first, last = names_from_register(personnel)
                user = create_person(
                    username=username, first_name=first or last, last_name=last, email=email
                )
                self.stdout.write(f"Created the user {username}.")
            try:
                personnel = link_login(acting_user=None, user=user, hpr_number=hpr_number)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            self.stdout.write(f"{username} is linked to {personnel}.")
            print_invitation(self, user)
