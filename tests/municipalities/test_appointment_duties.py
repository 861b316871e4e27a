"""Separation of duties when appointing: no administrator appoints themself (another must), and
the subject of one of an authority's open orders is not made its caseworker — refused in the
form with the reason, nothing written.

The world (tests/conftest.py): Statsforvalteren i Vestland issued the ``order`` about ``gp``
(login "lege") in Bergen. ``admin`` administers Vestland, bootstrapped as the shell command
does (tests/municipalities/conftest.py); ``second_admin`` is appointed by ``admin`` through the
service.
"""

import pytest
from django.core.exceptions import ValidationError

from municipalities import appointments
from municipalities.models import (
    ACT_FOR_AUTHORITY,
    ACT_FOR_MUNICIPALITY,
    ADMINISTER_AUTHORITY,
    AUDIT_AUTHORITY,
    Appointment,
    User,
)
from orders import access, services
from tests import factories

Role = Appointment.Role
PERMISSION_OF = {
    Role.CASEWORKER: ACT_FOR_AUTHORITY,
    Role.ADMINISTRATOR: ADMINISTER_AUTHORITY,
    Role.SECURITY_OFFICER: AUDIT_AUTHORITY,
    Role.LEADER: ACT_FOR_MUNICIPALITY,
}
SELF = "Du kan ikke utnevne deg selv. En annen administrator må gjøre det."
SUBJECT = (
    "er helsepersonellet en åpen sak hos denne myndigheten gjelder, og kan ikke utnevnes til "
    "saksbehandler her."
)


@pytest.fixture
def second_admin(world, admin):
    user = factories.UserFactory(username="admin2", first_name="Bjørn", last_name="Admin")
    appointments.appoint(
        acting_user=admin,
        user=user,
        role=Role.ADMINISTRATOR,
        organisation=world.authority,
        reason="Andre administrator.",
    )
    return user


def url_for(world, role):
    if role == Role.LEADER:
        return f"/kommuner/{world.municipality.number}/ledere/utnevn/"
    return f"/myndigheter/{world.authority.pk}/utnevn/"


def organisation_of(world, role):
    return world.municipality if role == Role.LEADER else world.authority


def data(role, username, reason="Utnevnt etter vedtak."):
    return {"role": role, "username": username, "reason": reason}


def holds(user, role, world) -> bool:
    return User.objects.get(pk=user.pk).has_perm(PERMISSION_OF[role], organisation_of(world, role))


def non_field_errors(response):
    assert response.status_code == 200, response.status_code
    return " ".join(response.context["form"].non_field_errors())


def appointments_of(user, role):
    return Appointment.objects.filter(user=user, role=role, ended_at__isnull=True)


# --- nobody appoints themself ---------------------------------------------------------------

ROLES = [Role.CASEWORKER, Role.SECURITY_OFFICER, Role.ADMINISTRATOR, Role.LEADER]


@pytest.mark.parametrize("role", ROLES)
def test_administrator_cannot_appoint_themself(world, second_admin, client_for, role):
    before = Appointment.objects.count(), Appointment.history.count()

    response = client_for(second_admin).post(
        url_for(world, role), data(role, second_admin.username)
    )

    assert SELF in non_field_errors(response)
    assert (Appointment.objects.count(), Appointment.history.count()) == before
    if role != Role.ADMINISTRATOR:
        assert not holds(second_admin, role, world)


@pytest.mark.parametrize("role", ROLES)
def test_another_administrator_can_appoint_them(world, admin, second_admin, client_for, role):
    response = client_for(admin).post(url_for(world, role), data(role, second_admin.username))

    if role == Role.ADMINISTRATOR:
        # Already an administrator: the ordinary "already has this role" answer.
        assert "har allerede denne rollen" in non_field_errors(response)
        return
    assert response.status_code == 302, non_field_errors(response)
    assert appointments_of(second_admin, role).get().appointed_by == admin
    assert holds(second_admin, role, world)


def test_administrator_cannot_appoint_themself_through_the_service(world, admin):
    with pytest.raises(ValidationError) as refused:
        appointments.appoint(
            acting_user=admin,
            user=admin,
            role=Role.SECURITY_OFFICER,
            organisation=world.authority,
            reason="Meg selv.",
        )
    assert refused.value.messages == [SELF]
    assert not appointments_of(admin, Role.SECURITY_OFFICER).exists()


# --- the subject of an open case is not its authority's caseworker --------------------------


def test_subject_of_an_open_case_cannot_be_appointed_caseworker_of_its_authority(
    world, order, admin, client_for
):
    before = Appointment.objects.count(), Appointment.history.count()

    response = client_for(admin).post(
        url_for(world, Role.CASEWORKER), data(Role.CASEWORKER, world.gp_user.username)
    )

    errors = non_field_errors(response)
    assert SUBJECT in errors
    assert world.gp_user.get_full_name() in errors
    assert order.case_number not in response.content.decode()
    assert (Appointment.objects.count(), Appointment.history.count()) == before
    assert not holds(world.gp_user, Role.CASEWORKER, world)


def test_subject_of_an_open_case_may_hold_other_roles_and_work_for_other_authorities(
    world, order, admin, client_for
):
    """Only caseworker of the authority with the open case is refused; the subject is kept off
    their own case in every other role by orders.access."""
    other_admin = factories.administrator_for(world.other_authority, username="annen.admin")
    response = client_for(other_admin).post(
        f"/myndigheter/{world.other_authority.pk}/utnevn/",
        data(Role.CASEWORKER, world.gp_user.username),
    )
    assert response.status_code == 302, non_field_errors(response)
    assert appointments_of(world.gp_user, Role.CASEWORKER).get().authority == world.other_authority


def test_subject_can_be_appointed_caseworker_once_the_case_is_closed(
    world, order, admin, client_for
):
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Omgjort.")

    response = client_for(admin).post(
        url_for(world, Role.CASEWORKER), data(Role.CASEWORKER, world.gp_user.username)
    )

    assert response.status_code == 302, non_field_errors(response)
    assert holds(world.gp_user, Role.CASEWORKER, world)
    # Appointed, but an appeal on their own (closed) case is still not theirs to decide.
    assert not access.Capabilities.of(User.objects.get(pk=world.gp_user.pk)).may_decide_appeal(
        order
    )
