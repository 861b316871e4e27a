"""People and appointments through the operators' admin site: the same services as the app's
pages, so the same rows, history and access events, with the operator named as the one who
acted; the services' refusals are errors on the form; looks at people are logged."""

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from audit.models import AccessEvent
from municipalities import appointments, invitations
from municipalities.models import ACT_FOR_AUTHORITY, Appointment, Invitation, Municipality, User
from tests import factories
from tests.municipalities.login_helpers import last_sequence, log_in

ADMIN = "/drift/admin/municipalities/"
TASKS = "/oppgaver/"


def events_since(before):
    return list(AccessEvent.objects.filter(sequence__gt=before).order_by("sequence"))


def actions_since(before):
    return [e.action for e in events_since(before)]


def history_rows(*models):
    return {m.__name__: m.history.count() for m in models}


def fresh(user):
    return User.objects.get(pk=user.pk)


def new_person(username):
    return appointments.new_login(
        username=username, first_name="Nina", last_name="Ny", email=f"{username}@test.invalid"
    )


def signed_in(user) -> Client:
    """Another browser, logged in with the person's password."""
    client = Client()
    log_in(client, user.username)
    assert client.get(TASKS).status_code == 200
    return client


# --- appointments ------------------------------------------------------------------------


def test_appointing_in_the_admin_writes_what_the_appointment_page_writes(
    world, operator, operator_client, django_capture_on_commit_callbacks
):
    administrator = factories.administrator_for(world.authority, username="admin.a")
    by_page, by_admin = new_person("via.siden"), new_person("via.drift")

    def written(post):
        before, rows = last_sequence(), history_rows(Appointment, Invitation)
        with django_capture_on_commit_callbacks(execute=True):
            assert post().status_code == 302
        after = history_rows(Appointment, Invitation)
        return actions_since(before), {k: after[k] - rows[k] for k in rows}

    client = Client()
    client.force_login(administrator)
    page = written(
        lambda: client.post(
            f"/myndigheter/{world.authority.pk}/utnevn/",
            {"role": "caseworker", "username": by_page.username, "reason": "Ny saksbehandler."},
        )
    )
    before = last_sequence()
    admin = written(
        lambda: operator_client.post(
            f"{ADMIN}appointment/add/",
            {
                "user": by_admin.pk,
                "role": "caseworker",
                "authority": world.authority.pk,
                "reason": "Ny saksbehandler.",
            },
        )
    )
    assert admin == page == (["invitation_send"], {"Appointment": 1, "Invitation": 1})

    appointment = Appointment.objects.get(user=by_admin)
    assert (appointment.appointed_by, appointment.reason) == (operator, "Ny saksbehandler.")
    assert appointment.history.get().history_user == operator
    assert fresh(by_admin).has_perm(ACT_FOR_AUTHORITY, world.authority)
    [event] = events_since(before)
    assert (event.user, event.role, event.target_id) == (
        operator,
        "",
        str(Invitation.objects.get(user=by_admin).pk),
    )
    assert [m.to for m in mail.outbox] == [[by_page.email], [by_admin.email]]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"user": "self", "authority": "A"}, "You cannot appoint yourself"),
        ({"role": "leader", "municipality": "ceased"}, "This appointment is not allowed"),
        ({"role": "leader", "authority": "A"}, "Leave this empty for the role chosen"),
        ({"authority": ""}, "Choose where the person is appointed"),
    ],
)
def test_what_the_service_refuses_is_an_error_on_the_form(
    fields, error, world, operator, operator_client
):
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    ceased = Municipality.objects.create(
        number="1399", name="Nedlagt", authority=world.authority, valid_to="2020-01-01"
    )
    values = {"user": "person", "role": "caseworker", "authority": "", "municipality": ""}
    values.update(fields)
    replace = {
        "self": operator.pk,
        "person": new_person("ny.person").pk,
        "A": world.authority.pk,
        "ceased": ceased.pk,
    }
    body = {k: replace.get(v, v) for k, v in values.items()} | {"reason": "Syntetisk grunn."}
    response = operator_client.post(f"{ADMIN}appointment/add/", body)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Appointment.objects.filter(appointed_by=operator).exists()


def test_ending_an_appointment_in_the_admin_removes_the_access_and_the_sessions(
    world, operator, operator_client
):
    administrator = factories.administrator_for(world.authority, username="admin.a")
    person = factories.UserFactory(username="slutter")
    appointment = appointments.appoint(
        acting_user=administrator,
        user=person,
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Ny saksbehandler.",
    )
    browser = signed_in(person)
    before = last_sequence()

    response = operator_client.post(
        f"{ADMIN}appointment/{appointment.pk}/change/", {"end_reason": "Sluttet."}
    )

    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.ended_by, appointment.end_reason) == (operator, "Sluttet.")
    assert appointment.history.latest().history_user == operator
    assert not fresh(person).has_perm(ACT_FOR_AUTHORITY, world.authority)
    assert browser.get(TASKS).status_code == 302
    [event] = events_since(before)
    assert (event.action, event.user, event.detail) == (
        "session_end",
        operator,
        "appointment_ended",
    )
    # Ended is history: no second end, and no deleting it.
    url = f"{ADMIN}appointment/{appointment.pk}/"
    assert operator_client.post(f"{url}change/", {"end_reason": "Igjen."}).status_code == 403
    assert operator_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403


def test_an_appointment_is_not_ended_without_a_reason(world, operator_client):
    appointment = appointments.appoint(
        acting_user=None,
        user=factories.UserFactory(username="blir"),
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Første.",
        system=True,
    )
    url = f"{ADMIN}appointment/{appointment.pk}/change/"
    assert operator_client.post(url, {"end_reason": "   "}).status_code == 200
    appointment.refresh_from_db()
    assert appointment.ended_at is None


# --- people ------------------------------------------------------------------------------


def test_a_person_made_in_the_admin_has_no_password_and_is_invited(
    operator, operator_client, django_capture_on_commit_callbacks
):
    before = last_sequence()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            f"{ADMIN}user/add/",
            {
                "username": "kari.ny",
                "first_name": "Kari",
                "last_name": "Ny",
                "email": "kari.ny@test.invalid",
            },
        )
    assert response.status_code == 302
    person = User.objects.get(username="kari.ny")
    assert not person.has_usable_password() and not person.is_superuser
    invitation = Invitation.objects.get(user=person)
    assert invitation.created_by == operator
    assert [(e.action, e.user) for e in events_since(before)] == [("invitation_send", operator)]
    assert [m.to for m in mail.outbox] == [["kari.ny@test.invalid"]]


def test_a_taken_user_name_is_an_error_on_the_form(world, operator_client):
    response = operator_client.post(
        f"{ADMIN}user/add/",
        {
            "username": world.caseworker.username,
            "first_name": "A",
            "last_name": "B",
            "email": "a@b.no",
        },
    )
    assert response.status_code == 200
    assert User.objects.filter(username=world.caseworker.username).count() == 1


def test_deactivating_a_person_ends_their_sessions_and_names_the_operator(
    world, operator, operator_client
):
    person = world.caseworker
    browser = signed_in(person)
    before = last_sequence()

    response = operator_client.post(
        f"{ADMIN}user/{person.pk}/change/",
        {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            # is_active left out: unticked
            "is_superuser": "on",
        },
    )

    assert response.status_code == 302
    person = fresh(person)
    assert not person.is_active
    assert not person.is_superuser, "superuser status is not given here"
    assert browser.get(TASKS).status_code == 302
    [event] = events_since(before)
    assert (event.action, event.user, event.target_id, event.detail) == (
        "session_end",
        operator,
        str(person.pk),
        "deactivated",
    )


def test_revoking_an_invitation_in_the_admin_goes_through_the_service(
    world, operator, operator_client
):
    person = new_person("inviteres")
    invitation, _link = invitations.issue(acting_user=None, user=person)
    before = last_sequence()
    response = operator_client.post(
        f"{ADMIN}invitation/", {"action": "revoke", "_selected_action": [invitation.pk]}
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.REVOKED and invitation.revoked_by == operator
    assert [(e.action, e.user) for e in events_since(before)] == [("invitation_revoke", operator)]


# --- looks at people are logged ----------------------------------------------------------


def test_a_look_at_people_in_the_admin_is_an_access_event(world, operator, operator_client):
    before = last_sequence()
    assert operator_client.get(f"{ADMIN}user/?q=saks").status_code == 200
    assert operator_client.get(f"{ADMIN}user/{world.caseworker.pk}/change/").status_code == 200
    assert operator_client.get(f"{ADMIN}healthpersonnel/{world.gp.pk}/change/").status_code == 200
    events = [
        (
            e.action,
            e.user,
            e.role,
            e.organisation,
            e.target_type,
            e.target_id,
            e.authority_id,
            e.detail,
        )
        for e in events_since(before)
    ]
    assert events == [
        ("admin_view", operator, "", "Drift", "municipalities.user", "", None, "q=saks"),
        (
            "admin_view",
            operator,
            "",
            "Drift",
            "municipalities.user",
            str(world.caseworker.pk),
            None,
            "",
        ),
        (
            "admin_view",
            operator,
            "",
            "Drift",
            "municipalities.healthpersonnel",
            str(world.gp.pk),
            world.authority.pk,
            "",
        ),
    ]
    # Reference data holds no one's personal data: no event for looking at it.
    before = last_sequence()
    assert operator_client.get(f"{ADMIN}municipality/").status_code == 200
    assert events_since(before) == []


def test_the_people_offered_while_typing_are_a_logged_look(world, operator, operator_client):
    before = last_sequence()
    found = operator_client.get(
        "/drift/admin/autocomplete/",
        {
            "app_label": "municipalities",
            "model_name": "appointment",
            "field_name": "user",
            "term": "saks",
        },
    )
    assert found.status_code == 200
    assert str(world.caseworker.pk) in [r["id"] for r in found.json()["results"]]
    [event] = events_since(before)
    assert (event.action, event.user, event.target_type, event.organisation) == (
        "admin_view",
        operator,
        "admin",
        "Drift",
    )
    for junk in ({}, {"app_label": "x"}, {"app_label": "municipalities", "model_name": "%00"}):
        assert operator_client.get("/drift/admin/autocomplete/", junk).status_code == 403


# --- reference data ----------------------------------------------------------------------


def test_the_reference_data_is_updated_from_its_files_in_the_admin_with_the_operator_in_history(
    db, operator, operator_client
):
    """The button on the municipality list runs load_reference_data (as the command does):
    what was not as in the files is put right, and its history names the operator."""
    page = operator_client.get(ADMIN + "municipality/")
    assert page.status_code == 200
    update = ADMIN + "municipality/oppdater/"
    assert f'action="{update}"' in page.content.decode()
    assert operator_client.get(update).status_code == 405

    response = operator_client.post(update, follow=True)

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(line.startswith("Kommuner: ") and "endret" in line for line in shown)
    oslo = Municipality.objects.get(number="0301")
    assert oslo.name == "Oslo"
    assert oslo.history.earliest("history_date").history_user == operator

    # Run again: nothing to change, and it says so.
    again = operator_client.post(ADMIN + "authority/oppdater/", follow=True)
    assert "Referansedataene var allerede oppdatert; ingenting ble endret." in [
        str(m) for m in again.context["messages"]
    ]


def test_someone_who_is_not_an_operator_cannot_update_the_reference_data(world, client):
    client.force_login(world.caseworker)
    assert client.post(ADMIN + "municipality/oppdater/").status_code in (302, 404)
    assert not Municipality.objects.filter(number="0301").exists()
