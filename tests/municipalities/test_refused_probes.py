"""Organisation pages refused to someone (another municipality's leader, a caseworker of
another authority) answer 404 as for a page that does not exist, and every refusal is in the
access log under the authority whose organisation was probed."""

import pytest

from audit.models import AccessEvent
from municipalities import appointments
from municipalities.models import Appointment
from tests import factories


def refused(user):
    return AccessEvent.objects.filter(user=user, outcome="refused")


@pytest.mark.parametrize(
    ("path", "action"),
    [("ledere/", "view_organisation"), ("ledere/utnevn/", "appoint")],
)
def test_another_municipalitys_leader_pages_are_refused_and_logged(client_for, world, path, action):
    url = f"/kommuner/{world.municipality.number}/{path}"
    assert client_for(world.other_leader).get(url).status_code == 404
    event = refused(world.other_leader).get()
    assert (event.action, event.target_id, event.authority_id) == (
        action,
        world.municipality.number,
        world.authority.pk,
    )
    assert client_for(world.other_leader).get("/kommuner/9999/ledere/").status_code == 404
    assert refused(world.other_leader).count() == 2


def test_another_authoritys_page_is_refused_and_logged(client_for, world):
    url = f"/myndigheter/{world.authority.pk}/"
    assert client_for(world.other_caseworker).get(url).status_code == 404
    event = refused(world.other_caseworker).get()
    assert (event.action, event.target_type, event.authority_id) == (
        "view_organisation",
        "authority",
        world.authority.pk,
    )


def test_ending_an_appointment_one_may_not_end_is_refused_and_logged(client_for, world):
    appointment = appointments.appoint(
        acting_user=None,
        user=factories.UserFactory(username="ny.saksbehandler"),
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Ny saksbehandler.",
        system=True,
    )
    url = f"/utnevnelser/{appointment.pk}/avslutt/"
    assert client_for(world.other_leader).post(url, {"reason": "x"}).status_code == 404
    event = refused(world.other_leader).get(action="end_appointment")
    assert (event.target_id, event.authority_id) == (str(appointment.pk), world.authority.pk)
    appointment.refresh_from_db()
    assert appointment.ended_at is None
