"""Fixtures shared by the appointment tests."""

import pytest

from municipalities import appointments
from municipalities.models import Appointment
from tests import factories


@pytest.fixture
def admin(world):
    """Administrator of Statsforvalteren i Vestland, bootstrapped as the shell command does."""
    user = factories.UserFactory(username="admin", first_name="Anne", last_name="Admin")
    appointments.appoint(
        acting_user=None,
        user=user,
        role=Appointment.Role.ADMINISTRATOR,
        organisation=world.authority,
        reason="Første administrator.",
        system=True,
    )
    return user


# The OpenID Connect test provider and the settings that point the product at it.
from tests.municipalities.oidc_support import client_key, oidc_server, provider  # noqa: E402, F401
