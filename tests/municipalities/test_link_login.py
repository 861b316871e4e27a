"""A GP's login is linked to their health personnel record by HPR number."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from municipalities.appointments import link_login
from tests import factories


def test_linked_gp_sees_the_orders_about_themself(world, order, client_for):
    person = factories.HealthPersonnelFactory(municipality=world.municipality, user=None)
    login = factories.UserFactory(username="ny.lege")
    factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=person, number=4321
    )
    assert client_for(login).get("/saker/").context["page"].paginator.count == 0

    call_command("link_gp_login", "ny.lege", person.hpr_number)

    person.refresh_from_db()
    assert person.user == login
    assert client_for(login).get("/saker/").context["page"].paginator.count == 1
    assert person.history.first().user_id == login.pk


def test_hpr_number_already_linked_to_someone_else_is_refused(world):
    with pytest.raises(ValidationError):
        link_login(acting_user=None, user=factories.UserFactory(), hpr_number=world.gp.hpr_number)
    with pytest.raises(CommandError):
        call_command("link_gp_login", world.other_gp_user.username, "0000000")
