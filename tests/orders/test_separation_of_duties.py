"""Separation of duties: nobody acts on an order that concerns themself as its caseworker or as
the municipality's leader, whatever they are appointed to (orders.access.Capabilities.is_concerned).

The world (tests/conftest.py): the ``order`` is issued by Statsforvalteren i Vestland about
``gp`` (login ``gp_user``) in Bergen. Here the GP is also given the roles an administrator
might have appointed them to behind the appointment pages' back — caseworker of the issuing
authority, leader of Bergen, stand-in on the order, security officer — straight through
guardian, as rows already in the database would be. They keep their own rights as the
subject: acknowledge the plan, see the case, see who has read it.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from guardian.shortcuts import assign_perm

import audit
from audit.models import AccessEvent, Role
from municipalities.models import (
    ACT_FOR_AUTHORITY,
    ACT_FOR_MUNICIPALITY,
    AUDIT_AUTHORITY,
    Appointment,
    User,
)
from orders import access, services
from orders.flows import OrderFlow
from orders.models import ACT_AS_CASEWORKER, Appeal, Notification, Order, Review
from tests import factories
from tests.orders import http_flow, lifecycle
from tests.orders.http_flow import Driver

SEARCH = "/tilgangslogg/"


# --- fixtures and helpers ---------------------------------------------------------------


def fresh(user):
    """The user reloaded, so guardian's per-object permission cache starts empty."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def gp_as_caseworker(world):
    """The subject GP made caseworker of the issuing authority, as a stray appointment row and
    its grant would make them (created directly, not through the appointment service)."""
    Appointment.objects.create(
        user=world.gp_user, role=Appointment.Role.CASEWORKER, authority=world.authority, reason="x"
    )
    assign_perm(ACT_FOR_AUTHORITY, world.gp_user, world.authority)
    return fresh(world.gp_user)


@pytest.fixture
def at_sign_off(world, order, gp_as_caseworker):
    lifecycle.advance(order, world.leader, "sign_off")
    return order


@pytest.fixture
def driver(client_for, world):
    return Driver(client_for, world)


def refusals(user, order, action):
    return AccessEvent.objects.filter(
        user=user, case_id=str(order.pk), action=action, outcome="refused"
    ).count()


def task_case_pks(client):
    response = client.get("/oppgaver/")
    assert response.status_code == 200
    return {t.process_id for t in response.context["page"].paginator.object_list}


# --- the subject appointed caseworker: no sign-off, no case management ----------------------


def test_subject_appointed_caseworker_cannot_sign_off_their_own_order(
    world, at_sign_off, gp_as_caseworker, driver, client_for
):
    order = at_sign_off
    task = http_flow.open_step(order, "sign_off")
    before = http_flow.snapshot(order)
    client = client_for(gp_as_caseworker)

    assert client.get(http_flow.step_url(order, task)).status_code == 403
    response = driver.sign_off(order, "fulfilled", user=gp_as_caseworker)

    assert response.status_code == 403
    assert http_flow.snapshot(order) == before
    assert not Review.objects.filter(order=order).exists()
    assert http_flow.reload(order).status == "NEW"
    assert refusals(gp_as_caseworker, order, "open_step") == 2
    # Nor through the service, whatever a page forgets to check.
    with pytest.raises(PermissionDenied):
        services.sign_off(task=task, acting_user=gp_as_caseworker, outcome="fulfilled")
    assert not Review.objects.filter(order=order).exists()
    # The real caseworker still can.
    assert driver.sign_off(order, "fulfilled").status_code == 302
    assert Review.objects.get(order=order).decided_by == world.caseworker


def test_subject_appointed_caseworker_has_no_step_of_their_own_order_in_their_task_list(
    world, at_sign_off, gp_as_caseworker, client_for
):
    other_order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    lifecycle.advance(other_order, world.leader, "sign_off")

    # They are caseworker for the authority: the other GP's case is theirs to sign off.
    assert task_case_pks(client_for(gp_as_caseworker)) == {other_order.pk}
    page = client_for(gp_as_caseworker).get(http_flow.case_url(at_sign_off))
    assert page.status_code == 200
    assert [may for _task, may in page.context["open_tasks"]] == [False]
    assert not page.context["may_manage"]
    assert not page.context["may_decide_appeal"]
    # viewflow's own permission check says the same as orders.access.
    task = http_flow.open_step(at_sign_off, "sign_off")
    assert not OrderFlow.sign_off.can_assign(gp_as_caseworker, task)
    assert OrderFlow.sign_off.can_assign(fresh(world.caseworker), task)


@pytest.mark.parametrize("action", ["extend", "withdraw", "appeal"])
def test_subject_appointed_caseworker_cannot_manage_their_own_case(
    world, order, gp_as_caseworker, driver, client_for, action
):
    url = {"extend": "frist", "withdraw": "trekk-tilbake", "appeal": "klage"}[action]
    before = http_flow.snapshot(order)

    assert client_for(gp_as_caseworker).get(f"/saker/{order.pk}/{url}/").status_code == 403
    if action == "extend":
        response = driver.extend(
            order, order.deadline.replace(year=order.deadline.year + 1), user=gp_as_caseworker
        )
    else:
        response = getattr(driver, action)(order, user=gp_as_caseworker)

    assert response.status_code == 403
    assert http_flow.snapshot(order) == before
    assert refusals(gp_as_caseworker, order, "manage_case") == 2


def test_subject_cannot_manage_their_own_case_through_the_services(world, order, gp_as_caseworker):
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.extend_deadline(
            order=order,
            acting_user=gp_as_caseworker,
            new_deadline=order.deadline.replace(year=order.deadline.year + 1),
            reason="Egen sak.",
        )
    with pytest.raises(PermissionDenied):
        services.withdraw_order(order=order, acting_user=gp_as_caseworker, reason="Egen sak.")
    with pytest.raises(PermissionDenied):
        services.register_appeal(order=order, acting_user=gp_as_caseworker, received_on=today)
    assert http_flow.reload(order).status == "NEW"
    assert not Appeal.objects.filter(order=order).exists()


def test_subject_appointed_caseworker_cannot_decide_the_appeal_of_their_own_order(
    world, order, gp_as_caseworker, driver, client_for
):
    appeal = services.register_appeal(
        order=order, acting_user=world.caseworker, received_on=timezone.localdate()
    )
    url = f"/saker/{order.pk}/klage/{appeal.pk}/"

    assert client_for(gp_as_caseworker).get(url).status_code == 403
    response = driver.decide(order, appeal, "reversed", "authority", user=gp_as_caseworker)

    assert response.status_code == 403
    appeal.refresh_from_db()
    assert appeal.outcome == Appeal.Outcome.PENDING
    assert http_flow.reload(order).status == "NEW"
    with pytest.raises(PermissionDenied):
        services.decide_appeal(
            appeal=appeal,
            acting_user=gp_as_caseworker,
            outcome=Appeal.Outcome.REVERSED,
            decided_by=Appeal.DecidedBy.AUTHORITY,
            decided_on=timezone.localdate(),
        )


def test_stand_in_grant_on_their_own_order_gives_the_subject_nothing(world, order, driver):
    assign_perm(ACT_AS_CASEWORKER, world.gp_user, order)
    lifecycle.advance(order, world.leader, "sign_off")
    gp = fresh(world.gp_user)

    assert driver.sign_off(order, "fulfilled", user=gp).status_code == 403
    assert driver.withdraw(order, user=gp).status_code == 403
    assert not Review.objects.filter(order=order).exists()
    assert http_flow.reload(order).status == "NEW"
    assert not access.Capabilities.of(gp).may_act_as_caseworker(order)


def test_subject_cannot_issue_an_order_about_themself_or_be_its_caseworker(
    world, driver, gp_as_caseworker
):
    response = driver.issue(user=gp_as_caseworker, caseworker=gp_as_caseworker.pk)
    assert response.status_code == 200
    assert "Du kan ikke registrere et pålegg som gjelder deg selv" in str(
        response.context["form"].non_field_errors()
    )

    response = driver.issue(caseworker=gp_as_caseworker.pk)
    assert response.status_code == 200
    assert "Den pålegget gjelder, kan ikke være saksbehandler for det" in str(
        response.context["form"].errors["caseworker"]
    )
    assert not Order.objects.filter(case_number="2026/4321").exists()


# --- the access log -------------------------------------------------------------------------


def test_subject_appointed_caseworker_does_not_see_the_access_log_of_their_own_case(
    world, order, gp_as_caseworker, client_for
):
    client_for(world.caseworker).get(http_flow.case_url(order))
    client = client_for(gp_as_caseworker)

    page = client.get(http_flow.case_url(order), {"vis": "access"})

    assert page.status_code == 200
    assert "access" not in [kind for kind, _label, _shown in page.context["timeline_kinds"]]
    assert all(entry.kind != "access" for entry in page.context["timeline"])
    assert not access.Capabilities.of(gp_as_caseworker).may_see_access_events(order)
    # As the subject they see who read their case on its own page (innsyn), and are logged as
    # the subject, never as caseworker.
    readers = client.get(f"/saker/{order.pk}/innsyn/")
    assert readers.status_code == 200
    assert world.caseworker in {event.user for event in readers.context["page"].object_list}
    assert set(
        AccessEvent.objects.filter(user=gp_as_caseworker, case_id=str(order.pk)).values_list(
            "role", flat=True
        )
    ) == {Role.PERSONNEL}


def test_security_officer_does_not_find_their_own_case_in_the_access_log(world, order, client_for):
    officer = world.gp_user
    assign_perm(AUDIT_AUTHORITY, officer, world.authority)
    other_order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    caseworker = client_for(world.caseworker)
    caseworker.get(http_flow.case_url(order))
    caseworker.get(http_flow.case_url(other_order))
    client = client_for(officer)

    page = client.get(SEARCH)
    export = client.get(f"{SEARCH}eksport.csv")

    assert page.status_code == 200
    shown = {event.case_id for event in page.context["page"].paginator.object_list}
    assert str(other_order.pk) in shown
    assert str(order.pk) not in shown
    rows = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    column = rows[0].split(";").index("Saks-ID")
    case_ids = {row.split(";")[column] for row in rows[1:]}
    assert str(other_order.pk) in case_ids
    assert str(order.pk) not in case_ids
    # Asking for it by case number finds nothing either.
    page = client.get(SEARCH, {"case": order.case_number})
    assert page.status_code == 200
    if page.context["page"] is not None:
        assert not page.context["page"].paginator.count


# --- the subject appointed leader: no municipal steps, no measures ----------------------------


def test_subject_appointed_leader_cannot_plan_their_own_measures_but_acknowledges(
    world, order, driver, client_for
):
    assign_perm(ACT_FOR_MUNICIPALITY, world.gp_user, world.municipality)
    gp = fresh(world.gp_user)
    before = http_flow.snapshot(order)

    response = driver.plan(order, user=gp)

    assert response.status_code == 403
    assert http_flow.snapshot(order) == before
    assert order.pk not in task_case_pks(client_for(gp))
    # The leader plans; the GP, as the subject, accepts the plan and sees it in their tasks.
    assert driver.plan(order).status_code == 302
    assert task_case_pks(client_for(gp)) == {order.pk}
    assert driver.acknowledge(order, user=gp).status_code == 302
    assert http_flow.open_step_names(order) == ["confirm_completion"]
    measure = order.measures.get()
    enrol = f"/saker/{order.pk}/tiltak/{measure.pk}/pamelding/"
    response = client_for(gp).post(enrol, {"enrolled_on": timezone.localdate().isoformat()})
    assert response.status_code == 403
    measure.refresh_from_db()
    assert measure.enrolled_on is None
    assert refusals(gp, order, "measure_enrol") == 1
    assert not access.Capabilities.of(gp).may_manage_measure(order, measure)
    assert access.Capabilities.of(gp).may_accept_terms(order, measure)
    assert order.pk not in task_case_pks(client_for(gp))


def test_subject_appointed_leader_is_not_told_to_act_on_their_own_order(world):
    assign_perm(ACT_FOR_MUNICIPALITY, world.gp_user, world.municipality)

    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )

    told = set(
        Notification.objects.filter(order=order, kind=Notification.Kind.NEW_TASK).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {world.leader.username}


def test_capacity_of_the_subject_is_always_the_subject(world, order, gp_as_caseworker):
    assign_perm(ACT_FOR_MUNICIPALITY, gp_as_caseworker, world.municipality)
    capacity = access.Capabilities.of(fresh(gp_as_caseworker)).capacity_on(order)
    assert capacity.role == Role.PERSONNEL
    assert isinstance(capacity, audit.Capacity)
