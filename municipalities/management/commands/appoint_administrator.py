"""Bootstrap: make a user administrator of an authority, so they can appoint the others
from the web pages. Recorded as an appointment like any other. With --first-name, --last-name
and --email it creates the person first; a person who has never logged in gets an invitation,
whose link is printed here (the only place it is shown besides the e-mail)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from municipalities import invitations
from municipalities.appointments import appoint, new_login
from municipalities.models import Appointment, Authority, User


def create_person(**names) -> User:
    try:
        return new_login(**names)
    except ValidationError as error:
        raise CommandError(" ".join(error.messages)) from None


def print_invitation(command, user):
    """Issue an invitation to a person who has never logged in, and print its link. An older
    link cannot be shown again (only its hash is kept), so a new one replaces it."""
    if invitations.has_logged_in(user) or not user.is_active:
        return
    invitation, link = invitations.issue(acting_user=None, user=user)
    where = f" (also e-mailed to {invitation.email})" if invitation.email else ""
    command.stdout.write(
        f"Invitation for {user.username}{where}, valid until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M}:\n{link}"
    )


class Command(BaseCommand):
    help = (
        "Appoint a user as administrator of an authority (by organisation number). With "
        "--first-name, --last-name and --email a new user is created; a user who has never "
        "logged in is given an invitation and its link is printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("org_number")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, username, org_number, reason, **options):
        authority = Authority.objects.filter(org_number=org_number).first()
        if authority is None:
            raise CommandError(f"No authority has organisation number {org_number}.")
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                missing = [
                    f"--{name.replace('_', '-')}"
                    for name in ("first_name", "last_name", "email")
                    if not options[name]
                ]
                if missing:
                    raise CommandError(
                        f"No user named {username}. To create one, give {', '.join(missing)}."
                    )
                user = create_person(
                    username=username,
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                    email=options["email"],
                )
                self.stdout.write(f"Created the user {username}.")
            try:
                appoint(
                    acting_user=None,
                    user=user,
                    role=Appointment.Role.ADMINISTRATOR,
                    organisation=authority,
                    reason=reason,
                    system=True,
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            self.stdout.write(f"{username} administers {authority}.")
            print_invitation(self, user)
