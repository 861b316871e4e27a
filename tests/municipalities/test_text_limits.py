"""The reasons given for appointing and for ending an appointment have a maximum, shown on
the form and held by the service too (issue 10, point 5)."""

import pytest
from django.core.exceptions import ValidationError

from municipalities import appointments, bounds
from municipalities.models import Appointment
from tests import factories
from tests.municipalities.test_appointments import appoint_data, leader_url


@pytest.fixture
def admin(world):
    return factories.administrator_for(world.authority, username="admin")


TOO_LONG = "Sørg for at denne verdien har"


def test_a_megabyte_of_reason_for_an_appointment_is_a_form_error(world, admin, client_for):
    before = Appointment.objects.count()
    response = client_for(admin).post(
        leader_url(world.municipality),
        appoint_data(reason="x" * 1_000_000),
    )
    assert response.status_code == 200
    assert TOO_LONG in " ".join(response.context["form"].errors["reason"])
    assert Appointment.objects.count() == before


def test_the_appointment_form_shows_the_limit(world, admin, client_for):
    page = client_for(admin).get(leader_url(world.municipality))
    assert "Høyst 2\xa0000 tegn." in page.content.decode()
    assert f'maxlength="{bounds.REASON_LENGTH}"' in page.content.decode()


def test_the_service_refuses_too_long_a_reason_for_ending(world, admin):
    appointment = appointments.appoint(
        acting_user=admin,
        user=factories.UserFactory(username="nina.ny"),
        role=Appointment.Role.LEADER,
        organisation=world.municipality,
        reason="Ny kommuneoverlege.",
    )
    with pytest.raises(ValidationError) as refused:
        appointments.end_appointment(
            acting_user=admin, appointment=appointment, reason="x" * (bounds.REASON_LENGTH + 1)
        )
    assert "reason" in refused.value.message_dict
    assert Appointment.objects.get(pk=appointment.pk).ended_at is None
