"""The first administrator of an authority, and a GP, brought in from the command line: the
command creates the person, appoints or links them, and prints the invitation link, which
then works in a browser like the e-mailed one."""

import re
from io import StringIO

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.management import CommandError, call_command

from municipalities.models import Appointment, Invitation, User
from tests import factories

LINK = re.compile(r"https?://\S+/invitasjon/[A-Za-z0-9_-]+/")
STRONG = "Blåbærsyltetøy-på-brødskiva-42"


def run(*args, **options):
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def path_of(link):
    return "/" + link.split("://", 1)[1].partition("/")[2]


def test_appoint_administrator_creates_the_first_administrator_end_to_end(
    world, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = run(
            "appoint_administrator",
            "frida.forste",
            world.authority.org_number,
            reason="Første administrator.",
            first_name="Frida",
            last_name="Første",
            email="frida@test.invalid",
        )
    user = User.objects.get(username="frida.forste")
    assert not user.has_usable_password()
    assert Appointment.objects.get(user=user).role == Appointment.Role.ADMINISTRATOR
    link = LINK.search(output).group(0)
    assert [m.to for m in mail.outbox] == [["frida@test.invalid"]]

    assert client.get(path_of(link)).status_code == 302
    response = client.post("/invitasjon/", {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 302 and response["Location"] == "/oppgaver/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert Invitation.objects.get(user=user).state == "used"


def test_appoint_administrator_invites_an_existing_user_who_never_logged_in(world):
    user = factories.UserFactory(username="uten.login", email="u@test.invalid")
    user.set_unusable_password()
    user.save()
    output = run("appoint_administrator", "uten.login", world.authority.org_number, reason="R")
    assert LINK.search(output)
    assert Invitation.objects.filter(user=user).count() == 1


def test_appoint_administrator_prints_no_link_for_someone_who_can_log_in(world):
    output = run(
        "appoint_administrator", world.caseworker.username, world.authority.org_number, reason="R"
    )
    assert not LINK.search(output)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "--first-name, --last-name, --email"),
        ({"first_name": "A", "last_name": "B", "email": "not-an-address"}, "e-post"),
    ],
)
def test_appoint_administrator_explains_what_is_missing(world, options, message):
    with pytest.raises(CommandError, match=message):
        run("appoint_administrator", "ny.person", world.authority.org_number, reason="R", **options)
    assert not User.objects.filter(username="ny.person").exists()


def test_appoint_administrator_refuses_an_unknown_organisation(db):
    with pytest.raises(CommandError, match="999999999"):
        run("appoint_administrator", "x", "999999999", reason="R")


def test_link_gp_login_creates_and_invites_the_gp(world, client):
    person = factories.HealthPersonnelFactory(
        municipality=world.municipality, hpr_number="9000077", name="Gunn Fastlege", user=None
    )
    output = run("link_gp_login", "gunn.fastlege", "9000077", email="gunn@test.invalid")
    person.refresh_from_db()
    assert person.user.username == "gunn.fastlege"
    assert (person.user.first_name, person.user.last_name) == ("Gunn", "Fastlege")
    link = LINK.search(output).group(0)
    assert client.get(path_of(link)).status_code == 302
    assert "Gunn Fastlege" in client.get("/invitasjon/").content.decode()


def test_link_gp_login_needs_an_email_or_a_known_hpr_to_create(world):
    with pytest.raises(CommandError, match="--email"):
        run("link_gp_login", "ukjent", world.supervisor.hpr_number)
    with pytest.raises(CommandError, match="0000000"):
        run("link_gp_login", "ukjent", "0000000", email="u@test.invalid")
    assert not User.objects.filter(username="ukjent").exists()
