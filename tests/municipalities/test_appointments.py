"""Appointing and removing the people who act for an organisation, through the web pages.

The world (tests/conftest.py): Statsforvalteren i Vestland covers Bergen (4601), where the
order of the ``order`` fixture is; Statsforvalteren i Trøndelag covers Trondheim (5001).
``admin`` administers Vestland, ``other_admin`` Trøndelag. Access is a guardian permission;
the Appointment row (and its history) is the account of it, shown on the organisation's page.
"""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from guardian.shortcuts import get_perms

from municipalities import appointments
from municipalities.models import (
    ACT_FOR_AUTHORITY,
    ACT_FOR_MUNICIPALITY,
    ADMINISTER_AUTHORITY,
    Appointment,
    User,
)
from tests import factories
from tests.orders import http_flow
from tests.orders.http_flow import Driver

Role = Appointment.Role
PERMISSION_OF = {
    Role.LEADER: ACT_FOR_MUNICIPALITY,
    Role.CASEWORKER: ACT_FOR_AUTHORITY,
    Role.ADMINISTRATOR: ADMINISTER_AUTHORITY,
}


# --- fixtures and helpers ---------------------------------------------------------------


# ``admin``, the administrator of Statsforvalteren i Vestland: tests/municipalities/conftest.py


@pytest.fixture
def other_admin(world):
    """Administrator of Statsforvalteren i Trøndelag."""
    return factories.administrator_for(world.other_authority, username="annen.admin")


@pytest.fixture
def national(db):
    return factories.helsetilsynet()


@pytest.fixture
def national_admin(national):
    return factories.administrator_for(national, username="helsetilsynet.admin")


@pytest.fixture
def other_order(world):
    """An order issued by Trøndelag about a GP in Trondheim."""
    personnel = factories.HealthPersonnelFactory(
        municipality=world.other_municipality, hpr_number="9100001"
    )
    return factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=personnel,
        number=5678,
    )


def leader_url(municipality):
    return f"/kommuner/{municipality.number}/ledere/utnevn/"


def authority_url(authority):
    return f"/myndigheter/{authority.pk}/utnevn/"


def end_url(appointment):
    return f"/utnevnelser/{appointment.pk}/avslutt/"


def appoint_data(role=Role.LEADER, **overrides):
    """The appoint form for a new person; ``None`` drops a field from the POST."""
    data = {
        "role": role,
        "username": "nina.ny",
        "first_name": "Nina",
        "last_name": "Nyleder",
        "email": "nina.ny@test.invalid",
        "reason": "Ny kommuneoverlege fra 1. mars.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def fresh(user):
    """The user reloaded, so guardian's per-object permission cache starts empty."""
    return User.objects.get(pk=user.pk)


def holds(user, perm, organisation) -> bool:
    return fresh(user).has_perm(perm, organisation)


def grants_on(organisation) -> dict:
    """username -> sorted codenames held on ``organisation``, for "nothing changed" checks."""
    return {
        u.username: sorted(get_perms(u, organisation))
        for u in User.objects.order_by("pk")
        if get_perms(u, organisation)
    }


def state(*organisations) -> dict:
    """Everything a refused appointment must leave untouched."""
    return {
        "users": sorted(User.objects.values_list("username", flat=True)),
        "appointments": sorted(
            Appointment.objects.values_list("pk", "user_id", "role", "ended_at")
        ),
        "history": Appointment.history.count(),
        "grants": [grants_on(o) for o in organisations],
    }


def visible_case_pks(client):
    response = client.get("/saker/")
    assert response.status_code == 200
    return {o.pk for o in response.context["page"].paginator.object_list}


def task_case_pks(client):
    response = client.get("/oppgaver/")
    assert response.status_code == 200
    return {t.process_id for t in response.context["page"].paginator.object_list}


def errors(response):
    assert response.status_code == 200, response.status_code
    return response.context["form"].errors


# --- appointing a municipal leader --------------------------------------------------------


def test_administrator_appoints_a_new_leader_who_acts_on_the_municipalitys_orders_only(
    world, order, other_order, admin, client_for
):
    client = client_for(admin)
    page = client.get(leader_url(world.municipality))
    assert page.status_code == 200
    assert page.context["form"].fields["role"].initial == Role.LEADER

    response = client.post(leader_url(world.municipality), appoint_data())
    assert response.status_code == 302, errors(response)
    assert response["Location"] == f"/kommuner/{world.municipality.number}/ledere/"

    leader = User.objects.get(username="nina.ny")
    appointment = Appointment.objects.get(user=leader)
    assert (appointment.role, appointment.municipality, appointment.authority) == (
        Role.LEADER,
        world.municipality,
        None,
    )
    assert appointment.appointed_by == admin
    assert appointment.reason == "Ny kommuneoverlege fra 1. mars."
    assert appointment.ended_at is None
    assert holds(leader, ACT_FOR_MUNICIPALITY, world.municipality)
    assert not holds(leader, ACT_FOR_MUNICIPALITY, world.other_municipality)

    # Sees A's order and its open step, none of B's.
    leader_client = client_for(leader)
    assert leader_client.get(f"/saker/{order.pk}/").status_code == 200
    assert leader_client.get(f"/saker/{other_order.pk}/").status_code == 404
    assert visible_case_pks(leader_client) == {order.pk}
    assert task_case_pks(leader_client) == {order.pk}
    other_task = http_flow.open_step(other_order, "plan_measures")
    assert leader_client.get(http_flow.step_url(other_order, other_task)).status_code == 404

    # Acts on A's order: plans the measures over HTTP.
    response = Driver(client_for, world).plan(order, user=leader)
    assert response.status_code == 302, http_flow.form_errors(response)
    assert http_flow.open_step_names(order) == ["acknowledge"]
    assert http_flow.open_step_names(other_order) == ["plan_measures"]


def test_a_new_person_gets_a_login_without_a_usable_password(world, admin, client_for):
    response = client_for(admin).post(leader_url(world.municipality), appoint_data())
    assert response.status_code == 302, errors(response)

    user = User.objects.get(username="nina.ny")
    assert (user.first_name, user.last_name, user.email) == (
        "Nina",
        "Nyleder",
        "nina.ny@test.invalid",
    )
    assert not user.has_usable_password()
    assert user.is_active
    assert not user.is_staff and not user.is_superuser


def test_appointing_an_existing_user_reuses_the_login_unchanged(world, admin, client_for):
    existing = factories.UserFactory(username="kari", first_name="Kari", last_name="Nordmann")
    users_before = User.objects.count()

    response = client_for(admin).post(
        leader_url(world.municipality),
        appoint_data(username="kari", first_name="", last_name="", email=""),
    )

    assert response.status_code == 302, errors(response)
    assert User.objects.count() == users_before
    appointment = Appointment.objects.get(role=Role.LEADER)
    assert appointment.user == existing
    existing = fresh(existing)
    assert (existing.first_name, existing.last_name) == ("Kari", "Nordmann")
    assert existing.check_password(factories.PASSWORD)
    assert holds(existing, ACT_FOR_MUNICIPALITY, world.municipality)


@pytest.mark.parametrize("missing", ["first_name", "last_name", "email"])
def test_a_new_person_needs_first_name_last_name_and_email(world, admin, client_for, missing):
    before = state(world.municipality)

    response = client_for(admin).post(leader_url(world.municipality), appoint_data(**{missing: ""}))

    assert missing in errors(response)
    assert state(world.municipality) == before


def test_appointing_the_same_person_twice_for_the_same_role_is_a_form_error(
    world, admin, client_for
):
    client = client_for(admin)
    assert client.post(leader_url(world.municipality), appoint_data()).status_code == 302
    before = state(world.municipality)

    response = client.post(
        leader_url(world.municipality), appoint_data(reason="Dobbeltklikk.", first_name="")
    )

    assert errors(response)["__all__"]
    assert state(world.municipality) == before
    assert Appointment.objects.filter(user__username="nina.ny", ended_at__isnull=True).count() == 1


def test_the_same_person_may_lead_two_municipalities_of_the_authority(world, admin, client_for):
    second = factories.MunicipalityFactory(number="4602", name="Kinn", authority=world.authority)
    client = client_for(admin)
    assert client.post(leader_url(world.municipality), appoint_data()).status_code == 302

    response = client.post(leader_url(second), appoint_data(reason="Interkommunalt samarbeid."))

    assert response.status_code == 302, errors(response)
    leader = User.objects.get(username="nina.ny")
    assert holds(leader, ACT_FOR_MUNICIPALITY, world.municipality)
    assert holds(leader, ACT_FOR_MUNICIPALITY, second)


@pytest.mark.parametrize("reason", [None, "", "   \n  "], ids=["absent", "empty", "blank"])
def test_an_appointment_needs_a_reason(world, admin, client_for, reason):
    before = state(world.municipality)

    response = client_for(admin).post(leader_url(world.municipality), appoint_data(reason=reason))

    assert "reason" in errors(response)
    assert state(world.municipality) == before


def test_the_service_refuses_an_appointment_without_a_reason(world, admin):
    from django.core.exceptions import ValidationError

    person = factories.UserFactory()
    with pytest.raises(ValidationError):
        appointments.appoint(
            acting_user=admin,
            user=person,
            role=Role.LEADER,
            organisation=world.municipality,
            reason="  ",
        )
    assert not holds(person, ACT_FOR_MUNICIPALITY, world.municipality)
    assert not Appointment.objects.filter(user=person).exists()


# A browser always sends the CSRF token, so "empty" forms still carry one field.
EMPTY_FORM = {"csrfmiddlewaretoken": "x"}

BAD_LEADER_POSTS = [
    pytest.param(EMPTY_FORM, id="empty-form"),
    pytest.param({k: "" for k in appoint_data()}, id="all-fields-empty"),
    pytest.param(appoint_data(username="nina ny"), id="space-in-username"),
    pytest.param(appoint_data(username="nina/../ny"), id="slash-in-username"),
    pytest.param(appoint_data(username="<script>x</script>"), id="markup-in-username"),
    pytest.param(appoint_data(username="n" * 151), id="username-too-long"),
    pytest.param(appoint_data(username="nina'; DROP TABLE x;--"), id="quote-in-username"),
    pytest.param(appoint_data(email="ikke-en-adresse"), id="bad-email"),
    pytest.param(appoint_data(first_name="N" * 151), id="first-name-too-long"),
    pytest.param(appoint_data(role="superuser"), id="unknown-role"),
    pytest.param(appoint_data(role=None), id="no-role"),
    pytest.param(appoint_data(role=Role.CASEWORKER), id="authority-role-on-municipality"),
    pytest.param(appoint_data(role=Role.ADMINISTRATOR), id="administrator-on-municipality"),
]


@pytest.mark.parametrize("data", BAD_LEADER_POSTS)
def test_bad_input_on_the_leader_form_is_a_form_error_not_a_500(world, admin, client_for, data):
    before = state(world.municipality, world.authority)

    response = client_for(admin).post(leader_url(world.municipality), data)

    assert errors(response)
    assert state(world.municipality, world.authority) == before


BAD_AUTHORITY_POSTS = [
    pytest.param(EMPTY_FORM, id="empty-form"),
    pytest.param(appoint_data(role=Role.CASEWORKER, username="ola nordmann"), id="bad-username"),
    pytest.param(appoint_data(role=Role.LEADER), id="leader-role-on-authority"),
    pytest.param(appoint_data(role=Role.CASEWORKER, reason=""), id="no-reason"),
    pytest.param(appoint_data(role=Role.CASEWORKER, last_name=""), id="new-user-no-last-name"),
]


@pytest.mark.parametrize("data", BAD_AUTHORITY_POSTS)
def test_bad_input_on_the_authority_form_is_a_form_error_not_a_500(world, admin, client_for, data):
    before = state(world.municipality, world.authority)

    response = client_for(admin).post(authority_url(world.authority), data)

    assert errors(response)
    assert state(world.municipality, world.authority) == before


@pytest.mark.parametrize("which", ["leader", "authority", "end"])
def test_a_post_without_any_fields_shows_the_form_again_and_changes_nothing(
    world, admin, client_for, which
):
    client = client_for(admin)
    client.post(leader_url(world.municipality), appoint_data())
    appointment = Appointment.objects.get(user__username="nina.ny")
    url = {
        "leader": leader_url(world.municipality),
        "authority": authority_url(world.authority),
        "end": end_url(appointment),
    }[which]
    before = state(world.municipality, world.authority)

    response = client.post(url, {})

    assert response.status_code == 200
    assert state(world.municipality, world.authority) == before


@pytest.mark.parametrize(
    "url",
    [
        "/kommuner/9999/ledere/utnevn/",
        "/kommuner/abc/ledere/utnevn/",
        "/myndigheter/999999/utnevn/",
        "/utnevnelser/999999/avslutt/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_organisations_and_appointments_are_404(admin, client_for, url, method):
    client = client_for(admin)
    response = getattr(client, method)(url, appoint_data())
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/kommuner/4601/ledere/utnevn/", "/kommuner/4601/ledere/", "/utnevnelser/1/avslutt/"],
)
def test_anonymous_visitors_are_sent_to_log_in(world, client, url):
    response = client.post(url, appoint_data())
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/?next=")
    assert not Appointment.objects.exists()


# --- removing ---------------------------------------------------------------------------


def test_a_removed_leader_loses_access_at_once_and_the_appointment_is_kept(
    world, order, admin, client_for
):
    admin_client = client_for(admin)
    assert admin_client.post(leader_url(world.municipality), appoint_data()).status_code == 302
    leader = User.objects.get(username="nina.ny")
    appointment = Appointment.objects.get(user=leader)
    task = http_flow.open_step(order, "plan_measures")

    leader_client = client_for(leader)
    assert leader_client.get(f"/saker/{order.pk}/").status_code == 200
    assert visible_case_pks(leader_client) == {order.pk}

    admin_client = client_for(admin)
    assert admin_client.get(end_url(appointment)).status_code == 200
    response = admin_client.post(end_url(appointment), {"reason": "Sluttet i kommunen."})
    assert response.status_code == 302, errors(response)
    assert response["Location"] == f"/kommuner/{world.municipality.number}/ledere/"

    # The very next request of the (still logged-in) leader is refused.
    leader_client = client_for(leader)
    assert leader_client.get(f"/saker/{order.pk}/").status_code == 404
    assert leader_client.get(http_flow.step_url(order, task)).status_code == 404
    assert leader_client.post(http_flow.step_url(order, task), {}).status_code == 404
    assert leader_client.get(f"/kommuner/{world.municipality.number}/").status_code == 404
    assert visible_case_pks(leader_client) == set()
    assert task_case_pks(leader_client) == set()
    assert not holds(leader, ACT_FOR_MUNICIPALITY, world.municipality)
    assert http_flow.open_step_names(order) == ["plan_measures"]

    # The row stays, marked ended, with who and why.
    appointment.refresh_from_db()
    assert appointment.ended_at is not None
    assert appointment.ended_by == admin
    assert appointment.end_reason == "Sluttet i kommunen."
    assert appointment.reason == "Ny kommuneoverlege fra 1. mars."
    assert User.objects.filter(pk=leader.pk, is_active=True).exists()

    # It cannot be ended twice, and the form is gone.
    assert admin_client.post(end_url(appointment), {"reason": "Igjen."}).status_code == 404


def test_ending_leaves_the_persons_other_appointments_in_force(world, admin, client_for):
    second = factories.MunicipalityFactory(number="4602", name="Kinn", authority=world.authority)
    client = client_for(admin)
    client.post(leader_url(world.municipality), appoint_data())
    client.post(leader_url(second), appoint_data())
    leader = User.objects.get(username="nina.ny")
    first = Appointment.objects.get(user=leader, municipality=world.municipality)

    response = client.post(end_url(first), {"reason": "Bare Kinn fra nå."})

    assert response.status_code == 302
    assert not holds(leader, ACT_FOR_MUNICIPALITY, world.municipality)
    assert holds(leader, ACT_FOR_MUNICIPALITY, second)


def test_a_leader_may_be_appointed_again_after_the_appointment_ended(world, admin, client_for):
    client = client_for(admin)
    client.post(leader_url(world.municipality), appoint_data())
    first = Appointment.objects.get(user__username="nina.ny")
    client.post(end_url(first), {"reason": "Permisjon."})

    response = client.post(leader_url(world.municipality), appoint_data(reason="Tilbake."))

    assert response.status_code == 302, errors(response)
    leader = User.objects.get(username="nina.ny")
    assert holds(leader, ACT_FOR_MUNICIPALITY, world.municipality)
    assert Appointment.objects.filter(user=leader).count() == 2
    assert Appointment.objects.filter(user=leader, ended_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    "data",
    [EMPTY_FORM, {"reason": ""}, {"reason": "   "}],
    ids=["empty-form", "no-reason", "blank-reason"],
)
def test_ending_needs_a_reason(world, admin, client_for, data):
    client = client_for(admin)
    client.post(leader_url(world.municipality), appoint_data())
    appointment = Appointment.objects.get(user__username="nina.ny")

    response = client.post(end_url(appointment), data)

    assert "reason" in errors(response)
    appointment.refresh_from_db()
    assert appointment.ended_at is None
    assert holds(appointment.user, ACT_FOR_MUNICIPALITY, world.municipality)


def test_an_administrator_can_remove_a_leader_of_a_municipality_that_has_since_ceased(
    world, order, admin, client_for
):
    client = client_for(admin)
    client.post(leader_url(world.municipality), appoint_data())
    appointment = Appointment.objects.get(user__username="nina.ny")
    merged = factories.MunicipalityFactory(
        number="4699", name="Storbergen", authority=world.authority
    )
    world.municipality.valid_to = date(2024, 1, 1)
    world.municipality.successor = merged
    world.municipality.save()

    response = client.post(end_url(appointment), {"reason": "Kommunen er slått sammen."})

    assert response.status_code == 302
    assert not holds(appointment.user, ACT_FOR_MUNICIPALITY, world.municipality)


# --- who may appoint whom ---------------------------------------------------------------


def test_an_administrator_cannot_appoint_leaders_where_another_statsforvalter_covers(
    world, other_order, admin, client_for
):
    before = state(world.other_municipality)
    client = client_for(admin)

    assert client.get(leader_url(world.other_municipality)).status_code == 404
    assert client.post(leader_url(world.other_municipality), appoint_data()).status_code == 404

    person = factories.UserFactory(username="utenfor")
    with pytest.raises(PermissionDenied):
        appointments.appoint(
            acting_user=admin,
            user=person,
            role=Role.LEADER,
            organisation=world.other_municipality,
            reason="Forsøk.",
        )
    assert state(world.other_municipality)["grants"] == before["grants"]
    assert not Appointment.objects.filter(municipality=world.other_municipality).exists()
    assert not User.objects.filter(username="nina.ny").exists()
    assert client_for(person).get(f"/saker/{other_order.pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.ADMINISTRATOR])
def test_an_administrator_cannot_appoint_for_another_authority(world, admin, client_for, role):
    before = state(world.other_authority)
    client = client_for(admin)

    assert client.get(authority_url(world.other_authority)).status_code == 404
    response = client.post(authority_url(world.other_authority), appoint_data(role=role))
    assert response.status_code == 404

    person = factories.UserFactory(username="utenfor")
    with pytest.raises(PermissionDenied):
        appointments.appoint(
            acting_user=admin,
            user=person,
            role=role,
            organisation=world.other_authority,
            reason="Forsøk.",
        )
    assert state(world.other_authority)["grants"] == before["grants"]
    assert not Appointment.objects.filter(authority=world.other_authority).exists()


def test_an_administrator_cannot_end_appointments_elsewhere(world, admin, other_admin, client_for):
    theirs = appointments.appoint(
        acting_user=other_admin,
        user=factories.UserFactory(username="trondheim.leder"),
        role=Role.LEADER,
        organisation=world.other_municipality,
        reason="Trøndelag utnevner.",
    )
    client = client_for(admin)

    assert client.get(end_url(theirs)).status_code == 404
    assert client.post(end_url(theirs), {"reason": "Forsøk."}).status_code == 404
    with pytest.raises(PermissionDenied):
        appointments.end_appointment(acting_user=admin, appointment=theirs, reason="Forsøk.")

    theirs.refresh_from_db()
    assert theirs.ended_at is None
    assert holds(theirs.user, ACT_FOR_MUNICIPALITY, world.other_municipality)


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.ADMINISTRATOR])
def test_an_administrator_may_appoint_within_their_own_authority(world, admin, client_for, role):
    response = client_for(admin).post(authority_url(world.authority), appoint_data(role=role))

    assert response.status_code == 302, errors(response)
    assert response["Location"] == f"/myndigheter/{world.authority.pk}/"
    person = User.objects.get(username="nina.ny")
    assert holds(person, PERMISSION_OF[role], world.authority)
    assert not holds(person, PERMISSION_OF[role], world.other_authority)
    other_role = {Role.CASEWORKER: ADMINISTER_AUTHORITY, Role.ADMINISTRATOR: ACT_FOR_AUTHORITY}
    assert not holds(person, other_role[role], world.authority)


def test_a_caseworker_who_is_not_administrator_cannot_appoint(world, order, admin, client_for):
    existing = appointments.appoint(
        acting_user=admin,
        user=factories.UserFactory(username="bergen.leder"),
        role=Role.LEADER,
        organisation=world.municipality,
        reason="Utnevnt av administrator.",
    )
    before = state(world.authority, world.municipality)
    client = client_for(world.caseworker)

    # The authority's page is theirs to read, but not its appoint form.
    assert client.get(f"/myndigheter/{world.authority.pk}/").status_code == 200
    assert client.get(authority_url(world.authority)).status_code == 403
    response = client.post(authority_url(world.authority), appoint_data(role=Role.CASEWORKER))
    assert response.status_code == 403
    assert client.get(leader_url(world.municipality)).status_code == 404
    assert client.post(leader_url(world.municipality), appoint_data()).status_code == 404
    assert client.post(end_url(existing), {"reason": "Forsøk."}).status_code == 404

    for role, organisation in [
        (Role.CASEWORKER, world.authority),
        (Role.ADMINISTRATOR, world.authority),
        (Role.LEADER, world.municipality),
    ]:
        with pytest.raises(PermissionDenied):
            appointments.appoint(
                acting_user=world.caseworker,
                user=factories.UserFactory(username=f"forsok.{role}"),
                role=role,
                organisation=organisation,
                reason="Forsøk.",
            )
    with pytest.raises(PermissionDenied):
        appointments.end_appointment(
            acting_user=world.caseworker, appointment=existing, reason="Forsøk."
        )

    after = state(world.authority, world.municipality)
    assert after["grants"] == before["grants"]
    assert after["appointments"] == before["appointments"]


def test_a_municipal_leader_cannot_appoint_other_leaders(world, client_for):
    client = client_for(world.leader)
    assert client.get(leader_url(world.municipality)).status_code == 404
    assert client.post(leader_url(world.municipality), appoint_data()).status_code == 404
    assert not User.objects.filter(username="nina.ny").exists()
    assert not Appointment.objects.exists()


def test_an_appointed_leader_cannot_appoint_further(world, admin, client_for):
    client_for(admin).post(leader_url(world.municipality), appoint_data())
    leader = User.objects.get(username="nina.ny")

    response = client_for(leader).post(
        leader_url(world.municipality), appoint_data(username="venn", reason="Min venn.")
    )

    assert response.status_code == 404
    assert not User.objects.filter(username="venn").exists()


def test_no_one_appoints_leaders_for_a_municipality_that_has_ceased(world, admin, client_for):
    merged = factories.MunicipalityFactory(
        number="4699", name="Storbergen", authority=world.authority
    )
    world.municipality.valid_to = date(2024, 1, 1)
    world.municipality.successor = merged
    world.municipality.save()
    client = client_for(admin)

    assert client.get(leader_url(world.municipality)).status_code == 404
    assert client.post(leader_url(world.municipality), appoint_data()).status_code == 404
    assert client.post(leader_url(merged), appoint_data()).status_code == 302
    assert not Appointment.objects.filter(municipality=world.municipality).exists()


@pytest.mark.parametrize(
    "role, organisation",
    [
        (Role.LEADER, "authority"),
        (Role.CASEWORKER, "municipality"),
        (Role.ADMINISTRATOR, "municipality"),
    ],
)
def test_the_service_refuses_a_role_for_the_wrong_kind_of_organisation(
    world, admin, role, organisation
):
    person = factories.UserFactory(username="feil.rolle")
    with pytest.raises(PermissionDenied):
        appointments.appoint(
            acting_user=admin,
            user=person,
            role=role,
            organisation=getattr(world, organisation),
            reason="Feil kombinasjon.",
        )
    assert not Appointment.objects.filter(user=person).exists()
    assert get_perms(person, world.authority) == []
    assert get_perms(person, world.municipality) == []


def test_helsetilsynet_administrator_may_appoint_leaders_in_any_municipality(
    world, order, other_order, national_admin, client_for
):
    client = client_for(national_admin)
    for municipality, username in [
        (world.municipality, "bergen.ny"),
        (world.other_municipality, "trondheim.ny"),
    ]:
        assert client.get(leader_url(municipality)).status_code == 200
        response = client.post(leader_url(municipality), appoint_data(username=username))
        assert response.status_code == 302, errors(response)
        appointment = Appointment.objects.get(user__username=username)
        assert appointment.municipality == municipality
        assert appointment.appointed_by == national_admin
        assert holds(appointment.user, ACT_FOR_MUNICIPALITY, municipality)

    trondheim = client_for(User.objects.get(username="trondheim.ny"))
    assert visible_case_pks(trondheim) == {other_order.pk}


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.ADMINISTRATOR])
def test_helsetilsynet_administrator_cannot_appoint_for_a_statsforvalter(
    world, national_admin, client_for, role
):
    client = client_for(national_admin)
    assert client.get(authority_url(world.authority)).status_code == 404
    assert client.post(authority_url(world.authority), appoint_data(role=role)).status_code == 404
    with pytest.raises(PermissionDenied):
        appointments.appoint(
            acting_user=national_admin,
            user=factories.UserFactory(username="nasjonal.forsok"),
            role=role,
            organisation=world.authority,
            reason="Forsøk.",
        )
    assert not Appointment.objects.filter(authority=world.authority).exists()


def test_helsetilsynet_administrator_sees_the_leaders_page_after_appointing(
    world, national_admin, client_for
):
    client = client_for(national_admin)
    response = client.post(leader_url(world.municipality), appoint_data(), follow=True)
    assert response.redirect_chain == [(f"/kommuner/{world.municipality.number}/ledere/", 302)]
    assert response.status_code == 200


def test_an_inactive_administrator_cannot_appoint(world, admin, client_for):
    client = client_for(admin)
    User.objects.filter(pk=admin.pk).update(is_active=False)
    response = client.post(leader_url(world.municipality), appoint_data())
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/")
    assert not User.objects.filter(username="nina.ny").exists()
    with pytest.raises(PermissionDenied):
        appointments.appoint(
            acting_user=fresh(admin),
            user=factories.UserFactory(username="inaktiv.forsok"),
            role=Role.LEADER,
            organisation=world.municipality,
            reason="Forsøk.",
        )


# --- the account: history and the organisation's page ----------------------------------


def _history(appointment):
    return list(Appointment.history.filter(id=appointment.pk).order_by("history_date", "pk"))


def test_granting_and_removing_a_leader_is_recorded_and_shown_on_the_municipality_page(
    world, admin, client_for
):
    client = client_for(admin)
    client.post(leader_url(world.municipality), appoint_data())
    appointment = Appointment.objects.get(user__username="nina.ny")

    page = client.get(f"/kommuner/{world.municipality.number}/ledere/")
    assert page.status_code == 200
    assert [a.pk for a in page.context["appointments"]] == [appointment.pk]
    content = page.content.decode()
    assert "Nina Nyleder" in content
    assert "Ny kommuneoverlege fra 1. mars." in content

    client.post(end_url(appointment), {"reason": "Gått over i ny stilling."})

    rows = _history(appointment)
    assert [r.history_type for r in rows] == ["+", "~"]
    assert all(r.history_user_id == admin.pk for r in rows)
    assert rows[0].reason == "Ny kommuneoverlege fra 1. mars." and rows[0].ended_at is None
    assert rows[1].ended_at is not None and rows[1].end_reason == "Gått over i ny stilling."

    page = client.get(f"/kommuner/{world.municipality.number}/ledere/")
    assert [h.pk for h in page.context["history"]] == [r.pk for r in reversed(rows)]
    content = page.content.decode()
    assert "Nina Nyleder" in content
    assert "Ny kommuneoverlege fra 1. mars." in content
    assert "Gått over i ny stilling." in content
    assert str(admin) in content


def test_the_covering_caseworker_and_the_leader_read_the_municipalitys_appointments(
    world, admin, client_for
):
    client_for(admin).post(leader_url(world.municipality), appoint_data())
    url = f"/kommuner/{world.municipality.number}/ledere/"

    for reader in (world.caseworker, world.leader, User.objects.get(username="nina.ny")):
        page = client_for(reader).get(url)
        assert page.status_code == 200, reader
        assert "Ny kommuneoverlege fra 1. mars." in page.content.decode()
        assert page.context["may_appoint"] is False
    for outsider in (world.other_caseworker, world.other_leader, world.gp_user):
        assert client_for(outsider).get(url).status_code == 404, outsider


def test_granting_and_removing_a_caseworker_is_recorded_and_shown_on_the_authority_page(
    world, admin, client_for
):
    client = client_for(admin)
    response = client.post(
        authority_url(world.authority),
        appoint_data(role=Role.CASEWORKER, reason="Ny saksbehandler i helseavdelingen."),
    )
    assert response.status_code == 302, errors(response)
    appointment = Appointment.objects.get(user__username="nina.ny")

    page = client.get(f"/myndigheter/{world.authority.pk}/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Nina Nyleder" in content
    assert "Ny saksbehandler i helseavdelingen." in content

    client.post(end_url(appointment), {"reason": "Permisjon fra 1. juni."})

    rows = _history(appointment)
    assert [r.history_type for r in rows] == ["+", "~"]
    assert [r.history_user_id for r in rows] == [admin.pk, admin.pk]
    page = client.get(f"/myndigheter/{world.authority.pk}/")
    content = page.content.decode()
    assert "Nina Nyleder" in content
    assert "Permisjon fra 1. juni." in content
    # The bootstrap appointment of the administrator is in the account too.
    assert "Første administrator." in content


def test_the_authority_page_is_only_for_its_own_people(world, admin, other_admin, client_for):
    url = f"/myndigheter/{world.authority.pk}/"
    assert client_for(admin).get(url).status_code == 200
    assert client_for(world.caseworker).get(url).status_code == 200
    for outsider in (other_admin, world.other_caseworker, world.leader, world.gp_user):
        assert client_for(outsider).get(url).status_code == 404, outsider


# --- appointing a caseworker ------------------------------------------------------------


def test_an_appointed_caseworker_may_issue_orders_until_the_appointment_ends(
    world, admin, client_for
):
    person = factories.UserFactory(username="ny.saksbehandler")
    assert client_for(person).get("/saker/ny/").status_code == 404

    response = client_for(admin).post(
        authority_url(world.authority),
        appoint_data(role=Role.CASEWORKER, username="ny.saksbehandler", reason="Nyansatt."),
    )
    assert response.status_code == 302, errors(response)
    appointment = Appointment.objects.get(user=person)

    caseworker_client = client_for(person)
    page = caseworker_client.get("/saker/ny/")
    assert page.status_code == 200
    assert list(page.context["form"].fields["issuing_authority"].queryset) == [world.authority]
    issued = caseworker_client.post(
        "/saker/ny/", http_flow.issue_data(world, number=7001, caseworker=person.pk)
    )
    assert issued.status_code == 302, http_flow.form_errors(issued)

    assert client_for(admin).post(end_url(appointment), {"reason": "Sluttet."}).status_code == 302

    caseworker_client = client_for(person)
    assert caseworker_client.get("/saker/ny/").status_code == 404
    assert (
        caseworker_client.post(
            "/saker/ny/", http_flow.issue_data(world, number=7002, caseworker=person.pk)
        ).status_code
        == 404
    )
    assert not holds(person, ACT_FOR_AUTHORITY, world.authority)


def test_a_bootstrap_appointment_passes_full_clean(world):
    """Found by tests/test_form_fuzz.py: the first administrator's appointment has no
    appointing user, which the database allowed but full_clean refused."""
    appointment = appointments.appoint(
        acting_user=None,
        user=world.caseworker,
        role=Appointment.Role.ADMINISTRATOR,
        organisation=world.authority,
        reason="Første administrator",
        system=True,
    )
    appointment.full_clean()
