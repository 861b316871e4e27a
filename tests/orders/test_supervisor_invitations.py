"""The supervisor named by HPR number gets a login when the plan is saved; the municipal
leader who named them sees it on the measure page (user name, how they log in, the state of
the invitation) and can send an invitation to an address they give, send it again or revoke
it. Nobody else can, and a supervisor who has logged in is not re-invited."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AccessEvent
from courses.models import Measure
from municipalities import appointments
from municipalities.models import Appointment, Invitation
from orders import services
from tests import factories
from tests.orders import lifecycle

LINK = re.compile(r"https?://\S+/invitasjon/[A-Za-z0-9_-]+/")


@pytest.fixture
def measure(world):
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=4444
    )
    later = timezone.localdate() + timedelta(days=60)
    services.plan_measures(
        task=lifecycle.open_task(order, "plan_measures"),
        acting_user=world.leader,
        measures=[
            {
                "kind": Measure.Kind.SUPERVISION,
                "supervisor": world.supervisor,
                "agreed_sessions": 2,
                "planned_completion": later,
            }
        ],
    )
    world.supervisor.refresh_from_db()
    return order.measures.get()


def page(measure):
    return f"/saker/{measure.order_id}/tiltak/{measure.pk}/"


def invite(client, measure, email="kari@test.invalid"):
    return client.post(page(measure) + "veileder-invitasjon/", {"invite-email": email})


def test_the_leader_sees_the_supervisors_login(world, measure, client_for, settings):
    body = client_for(world.leader).get(page(measure)).content.decode()
    assert "Veilederens innlogging" in body
    assert world.supervisor.user.username in body  # hpr9000009
    assert "Ingen invitasjon" in body and 'name="invite-email"' in body
    settings.OIDC_PROVIDERS = {"helseid": {"label": "HelseID"}}
    body = client_for(world.leader).get(page(measure)).content.decode()
    assert "Logger inn med HelseID med HPR-nummer 9000009" in body


def test_the_leader_invites_the_supervisor_and_the_link_lets_them_in(
    world, measure, client_for, django_capture_on_commit_callbacks, client
):
    leader = client_for(world.leader)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(leader, measure)
    assert response.status_code == 302
    login = world.supervisor.user
    login.refresh_from_db()
    assert login.email == "kari@test.invalid"
    (message,) = mail.outbox
    assert message.to == ["kari@test.invalid"]
    assert "Kari" not in message.body and world.municipality.name not in message.body
    assert "Invitasjon sendt til kari@test.invalid" in leader.get(page(measure)).content.decode()
    leader.logout()
    link = LINK.search(message.body).group(0)
    client.get("/" + link.split("://", 1)[1].partition("/")[2])
    password = "Veiledning-er-viktig-2026"
    response = client.post("/invitasjon/", {"new_password1": password, "new_password2": password})
    assert response.status_code == 302
    # Logged in: the measure they supervise is theirs to see; the leader's form is gone.
    body = client.get(page(measure)).content.decode()
    assert 'name="invite-email"' not in body


def test_resend_and_revoke(world, measure, client_for):
    leader = client_for(world.leader)
    invite(leader, measure)
    invite(leader, measure, "kari.ny@test.invalid")
    states = sorted(i.state for i in Invitation.objects.filter(user=world.supervisor.user))
    assert states == ["revoked", "sent"]
    leader.post(page(measure) + "veileder-invitasjon/trekk-tilbake/")
    assert {i.state for i in Invitation.objects.all()} == {"revoked"}
    assert "Invitasjonen er trukket tilbake" in leader.get(page(measure)).content.decode()


def test_a_bad_address_is_shown_as_a_form_error(world, measure, client_for):
    response = invite(client_for(world.leader), measure, "ikke-en-adresse")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("who", ["other_leader", "caseworker", "gp_user"])
def test_nobody_but_the_municipality_can_invite(world, measure, client_for, who):
    user = getattr(world, who)
    response = invite(client_for(user), measure, "kapret@test.invalid")
    assert response.status_code == 404
    assert not Invitation.objects.exists()
    world.supervisor.user.refresh_from_db()
    assert world.supervisor.user.email == ""
    assert AccessEvent.objects.filter(user=user, action="invitation_send", outcome="refused")


def test_a_supervisor_who_has_logged_in_is_not_invited(world, measure, client_for):
    login = world.supervisor.user
    login.set_password("Allerede-innlogget-1")
    login.save()
    leader = client_for(world.leader)
    assert 'name="invite-email"' not in leader.get(page(measure)).content.decode()
    assert invite(leader, measure).status_code == 404
    assert not Invitation.objects.exists()


def test_a_supervisor_login_that_holds_an_appointment_cannot_be_redirected(
    world, measure, client_for
):
    """A leader's address must not become the way into someone's caseworker access."""
    login = world.supervisor.user
    appointments.appoint(
        acting_user=None,
        user=login,
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Også saksbehandler.",
        system=True,
    )
    assert invite(client_for(world.leader), measure).status_code == 404
