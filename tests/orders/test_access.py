"""Who may see an order and take its steps: everybody else is told it does not exist.

The world (tests/conftest.py) has one order: issued by ``caseworker`` (Statsforvalteren i
Vestland) about ``gp`` in Bergen, whose leader is ``leader``. The outsiders are the leader of
Trondheim, a caseworker of Statsforvalteren i Trøndelag and another GP in Bergen.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS

from audit.models import AccessEvent
from courses.models import EvidenceDocument
from municipalities.access import OrganisationCapabilities
from municipalities.models import ACT_FOR_AUTHORITY, ACT_FOR_MUNICIPALITY
from orders import access, services
from orders.models import ACT_AS_CASEWORKER, VIEW_ORDER, Order, Review
from tests import factories
from tests.orders import lifecycle
from tests.snapshots import snapshot_fixture

OUTSIDERS = [
    pytest.param("other_leader", id="leader-of-other-municipality"),
    pytest.param("other_caseworker", id="caseworker-of-other-statsforvalter"),
    pytest.param("other_gp_user", id="other-gp"),
]

# Who takes each step. Everyone else who can see the case gets 403 on the step URL.
STEP_ACTORS = {
    "plan_measures": "leader",
    "acknowledge": "gp_user",
    "confirm_completion": "leader",
    "sign_off": "caseworker",
}


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def stand_in(order):
    """A caseworker from elsewhere, granted only this one order as stand-in caseworker."""
    user = factories.UserFactory(username="stedfortreder")
    assign_perm(ACT_AS_CASEWORKER, user, order)
    return user


@pytest.fixture
def viewer(order):
    """Someone granted only a look at this one order (a bare view grant; supervisors have
    recorded grants instead, see test_supervision_access.py)."""
    user = factories.UserFactory(username="innsyn")
    assign_perm(VIEW_ORDER, user, order)
    return user


@pytest.fixture
def person(world, stand_in, viewer):
    """Look a person up by role name: world attributes plus the two single-order grantees."""
    extra = {"stand_in": stand_in, "viewer": viewer}

    def lookup(name):
        return extra[name] if name in extra else getattr(world, name)

    return lookup


@snapshot_fixture
def case(world, order):
    """The order at the sign-off stage: a document on it and a pending appeal."""
    lifecycle.advance(order, world.leader, "sign_off")
    appeal = services.register_appeal(
        order=order, acting_user=world.caseworker, received_on=timezone.localdate(), note="Klage"
    )
    return SimpleNamespace(
        order=order,
        document=order.documents.get(),
        task=lifecycle.open_task(order, "sign_off"),
        appeal=appeal,
    )


def missing_pk():
    """A primary key no order (nor any other process) has."""
    return (Process.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 10_000


def with_missing_order(url, order):
    return url.replace(f"/saker/{order.pk}/", f"/saker/{missing_pk()}/", 1)


def step_data(step, order=None):
    """Valid POST data for the step's form, as its actor would send it (at confirmation, with a
    reason for each of ``order``'s measures that is not carried out)."""
    today = timezone.localdate()
    if step == "plan_measures":
        return {
            "received": "on",
            "tiltak-TOTAL_FORMS": "1",
            "tiltak-INITIAL_FORMS": "0",
            "tiltak-MIN_NUM_FORMS": "0",
            "tiltak-MAX_NUM_FORMS": "10",
            "tiltak-0-kind": "course",
            "tiltak-0-course": str(factories.course().pk),
            "tiltak-0-description": "SKIL-pakke",
            "tiltak-0-planned_completion": (today + timedelta(days=30)).isoformat(),
        }
    if step == "acknowledge":
        return {"accepted": "on"}
    if step == "confirm_completion":
        return {
            "note": "Kurset er gjennomført.",
            "document_kind": EvidenceDocument.Kind.CERTIFICATE,
            "files": SimpleUploadedFile("bevis.pdf", lifecycle.PDF, "application/pdf"),
        } | {
            f"reason_{pk}": text
            for pk, text in (lifecycle.incomplete_reasons(order) if order else {}).items()
        }
    if step == "sign_off":
        return {"outcome": Review.Outcome.FULFILLED, "reason": ""}
    raise AssertionError(step)


def action_data(name, case):
    today = timezone.localdate()
    return {
        "extend deadline": {
            "new_deadline": (case.order.deadline + timedelta(days=30)).isoformat(),
            "reason": "Sykdom",
        },
        "withdraw": {"reason": "Feil person", "confirm": "on"},
        "register appeal": {"received_on": today.isoformat(), "note": "Ny klage"},
        "decide appeal": {
            "outcome": "reversed",
            "decided_by": "nemnd",
            "decided_on": today.isoformat(),
            "note": "Opphevet",
        },
    }.get(name)


def case_urls(case):
    """Every URL that shows or changes this one case, with the data a POST would send."""
    pk = case.order.pk
    return {
        "case page": f"/saker/{pk}/",
        "document download": f"/saker/{pk}/dokumenter/{case.document.pk}/",
        "sign-off step": f"/saker/{pk}/steg/{case.task.pk}/",
        "extend deadline": f"/saker/{pk}/frist/",
        "withdraw": f"/saker/{pk}/trekk-tilbake/",
        "register appeal": f"/saker/{pk}/klage/",
        "decide appeal": f"/saker/{pk}/klage/{case.appeal.pk}/",
    }


CASE_URLS = [
    "case page",
    "document download",
    "sign-off step",
    "extend deadline",
    "withdraw",
    "register appeal",
    "decide appeal",
]


def request(client, method, url, data=None):
    if method == "GET":
        return client.get(url)
    return client.post(url, data or {})


def snapshot(order):
    """Everything a request could change on the case."""
    order = Order.objects.get(pk=order.pk)
    return {
        "status": order.status,
        "deadline": order.deadline,
        "withdrawal_reason": order.withdrawal_reason,
        "reviews": list(order.reviews.values_list("pk", flat=True)),
        "appeals": list(order.appeals.values_list("pk", "outcome")),
        "extensions": order.extensions.count(),
        "measures": order.measures.count(),
        "documents": order.documents.count(),
        "tasks": list(
            Task.objects.filter(process_id=order.pk).order_by("pk").values_list("pk", "status")
        ),
    }


def listed(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.context["page"].paginator.count, response


def fetch_document(response):
    # Reading the stream to its end closes the file: the test client wraps it so. (Closing the
    # response again would fire request_finished and close the test's database connection.)
    return b"".join(response.streaming_content)


# --- outsiders: 404, the same as for a case that does not exist ------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("target", CASE_URLS)
@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsider_gets_404_on_every_url_of_the_case_like_for_a_missing_case(
    case, person, client_for, outsider, target, method
):
    client = client_for(person(outsider))
    url = case_urls(case)[target]
    data = action_data(target, case) or step_data("sign_off")
    before = snapshot(case.order)

    response = request(client, method, url, data)
    missing = request(client, method, with_missing_order(url, case.order), data)

    assert response.status_code == 404
    assert missing.status_code == response.status_code
    assert response.templates[0].name == missing.templates[0].name == "404.html"
    assert case.order.case_number.encode() not in response.content
    assert case.order.health_personnel.name.encode() not in response.content
    assert snapshot(case.order) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("step", lifecycle.STAGES)
@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsider_gets_404_on_the_open_step_at_every_stage(
    world, order, person, client_for, outsider, step, method
):
    lifecycle.advance(order, world.leader, step)
    task = lifecycle.open_task(order, step)
    url = f"/saker/{order.pk}/steg/{task.pk}/"
    client = client_for(person(outsider))
    before = snapshot(order)

    response = request(client, method, url, step_data(step, order))
    missing = request(client, method, with_missing_order(url, order), step_data(step, order))

    assert response.status_code == 404
    assert missing.status_code == 404
    assert snapshot(order) == before


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsider_gets_404_on_finished_steps_of_the_case(case, person, client_for, outsider):
    client = client_for(person(outsider))
    finished = Task.objects.filter(process_id=case.order.pk, flow_task_type="HUMAN").exclude(
        pk=case.task.pk
    )
    assert finished.count() == 3
    for task in finished:
        assert client.get(f"/saker/{case.order.pk}/steg/{task.pk}/").status_code == 404


def test_open_step_of_a_case_cannot_be_reached_through_a_case_one_may_see(world, order, client_for):
    """The other leader's own case does not open a door to our case's step."""
    theirs = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=factories.HealthPersonnelFactory(municipality=world.other_municipality),
        number=5678,
    )
    our_task = lifecycle.open_task(order, "plan_measures")
    client = client_for(world.other_leader)
    before = snapshot(order)

    assert client.get(f"/saker/{theirs.pk}/").status_code == 200
    url = f"/saker/{theirs.pk}/steg/{our_task.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, step_data("plan_measures")).status_code == 404
    assert snapshot(order) == before


def test_document_of_a_case_cannot_be_downloaded_through_a_case_one_may_see(
    world, case, client_for
):
    theirs = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=factories.HealthPersonnelFactory(municipality=world.other_municipality),
        number=5678,
    )
    client = client_for(world.other_caseworker)

    assert client.get(f"/saker/{theirs.pk}/").status_code == 200
    response = client.get(f"/saker/{theirs.pk}/dokumenter/{case.document.pk}/")
    assert response.status_code == 404


# --- outsiders: no trace in lists, searches and task queues ----------------------------


def _searches(order):
    gp = order.health_personnel
    return [
        {},
        {"q": order.case_number},
        {"q": gp.name},
        {"q": gp.hpr_number},
        {"q": order.municipality.name},
        {"state": "open"},
        {"state": "appeal"},
    ]


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsider_does_not_find_the_case_in_the_case_list_or_by_search(
    case, person, client_for, outsider
):
    client = client_for(person(outsider))
    for params in _searches(case.order):
        count, response = listed(client, "/saker/", **params)
        assert count == 0, params
        assert f"/saker/{case.order.pk}/".encode() not in response.content, params
        gp = case.order.health_personnel
        for secret in (case.order.case_number, gp.name, gp.hpr_number):
            if secret != params.get("q"):  # the search box shows what was searched for
                assert secret.encode() not in response.content, (params, secret)


@pytest.mark.parametrize("insider", ["caseworker", "leader", "gp_user", "stand_in", "viewer"])
def test_people_concerned_find_the_case_in_the_case_list_and_by_search(
    case, person, client_for, insider
):
    client = client_for(person(insider))
    for params in _searches(case.order):
        count, response = listed(client, "/saker/", **params)
        assert count == 1, params
        assert case.order.case_number.encode() in response.content, params


@pytest.mark.parametrize("step", lifecycle.STAGES)
@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsider_has_no_task_for_the_case_at_any_stage(
    world, order, person, client_for, outsider, step
):
    lifecycle.advance(order, world.leader, step)
    count, response = listed(client_for(person(outsider)), "/oppgaver/")
    assert count == 0
    assert order.case_number.encode() not in response.content


@pytest.mark.parametrize("step", lifecycle.STAGES)
def test_the_steps_actor_finds_it_among_their_tasks(world, order, person, client_for, step):
    lifecycle.advance(order, world.leader, step)
    task = lifecycle.open_task(order, step)
    count, response = listed(client_for(person(STEP_ACTORS[step])), "/oppgaver/")
    assert count == 1
    assert [t.pk for t in response.context["page"].object_list] == [task.pk]
    assert f"/saker/{order.pk}/steg/{task.pk}/".encode() in response.content


# --- anonymous: always to the login page -----------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("target", CASE_URLS + ["case list", "task list", "new order"])
def test_anonymous_user_is_sent_to_login(case, client, target, method):
    url = {"case list": "/saker/", "task list": "/oppgaver/", "new order": "/saker/ny/"}.get(
        target
    ) or case_urls(case)[target]
    before = snapshot(case.order)

    response = request(client, method, url, action_data(target, case) or step_data("sign_off"))

    assert response.status_code == 302
    assert response.url.startswith("/logg-inn/?next=")
    assert snapshot(case.order) == before
    assert not AccessEvent.objects.filter(outcome="refused").exists()


def test_anonymous_user_is_sent_to_login_for_a_missing_case_too(client, db):
    response = client.get(f"/saker/{missing_pk()}/")
    assert response.status_code == 302
    assert response.url.startswith("/logg-inn/")


# --- the right people see it -------------------------------------------------------------


@pytest.mark.parametrize("insider", ["caseworker", "leader", "gp_user", "stand_in", "viewer"])
def test_people_concerned_see_the_case_page_and_its_documents(case, person, client_for, insider):
    client = client_for(person(insider))

    page = client.get(f"/saker/{case.order.pk}/")
    assert page.status_code == 200
    assert case.order.case_number.encode() in page.content

    download = client.get(f"/saker/{case.order.pk}/dokumenter/{case.document.pk}/")
    assert download.status_code == 200
    assert fetch_document(download) == lifecycle.PDF


@pytest.mark.parametrize("step", lifecycle.STAGES)
@pytest.mark.parametrize("insider", ["caseworker", "leader", "gp_user", "stand_in", "viewer"])
def test_only_the_steps_own_actor_may_open_it_others_who_see_the_case_get_403(
    world, order, person, client_for, step, insider
):
    lifecycle.advance(order, world.leader, step)
    task = lifecycle.open_task(order, step)
    url = f"/saker/{order.pk}/steg/{task.pk}/"
    may = insider == STEP_ACTORS[step] or (insider == "stand_in" and step == "sign_off")
    client = client_for(person(insider))
    before = snapshot(order)

    assert client.get(url).status_code == (200 if may else 403)
    if not may:
        assert client.post(url, step_data(step, order)).status_code == 403
        assert snapshot(order) == before


@pytest.mark.parametrize("step", lifecycle.STAGES)
def test_the_steps_actor_takes_it_with_the_same_request_outsiders_were_refused(
    world, order, person, client_for, step
):
    """Proves the POSTs the outsider tests send are complete: they would have worked."""
    lifecycle.advance(order, world.leader, step)
    task = lifecycle.open_task(order, step)

    response = client_for(person(STEP_ACTORS[step])).post(
        f"/saker/{order.pk}/steg/{task.pk}/", step_data(step, order)
    )

    assert response.status_code == 302
    assert response.url == f"/saker/{order.pk}/"
    task.refresh_from_db()
    assert task.status == "DONE"


@pytest.mark.parametrize(
    "insider,allowed",
    [
        ("caseworker", True),
        ("stand_in", True),
        ("leader", False),
        ("gp_user", False),
        ("viewer", False),
    ],
)
@pytest.mark.parametrize(
    "target", ["extend deadline", "withdraw", "register appeal", "decide appeal"]
)
def test_only_the_issuing_side_may_manage_the_case(
    case, person, client_for, insider, allowed, target
):
    client = client_for(person(insider))
    url = case_urls(case)[target]
    before = snapshot(case.order)

    start = latest_sequence()
    assert client.get(url).status_code == (200 if allowed else 403)
    if not allowed:
        assert client.post(url, action_data(target, case)).status_code == 403
        assert snapshot(case.order) == before
    # Each 403 is one refused manage_case event on the case; a permitted page refuses nothing.
    events = AccessEvent.objects.filter(sequence__gt=start).order_by("sequence")
    logged = [(e.user, e.action, e.outcome, e.target_type, e.target_id, e.case_id) for e in events]
    if allowed:
        assert [e for e in logged if e[2] == "refused"] == []
    else:
        pk = str(case.order.pk)
        refusal = (person(insider), "manage_case", "refused", "orders.order", pk, pk)
        assert logged == [refusal, refusal]


def test_stand_in_caseworker_sees_the_case_and_signs_it_off(case, stand_in, client_for):
    client = client_for(stand_in)
    assert client.get(f"/saker/{case.order.pk}/").status_code == 200
    assert listed(client, "/saker/")[0] == 1
    count, tasks = listed(client, "/oppgaver/")
    assert [t.pk for t in tasks.context["page"].object_list] == [case.task.pk]

    response = client.post(f"/saker/{case.order.pk}/steg/{case.task.pk}/", step_data("sign_off"))

    assert response.status_code == 302
    review = case.order.reviews.get()
    assert review.decided_by == stand_in
    assert review.outcome == Review.Outcome.FULFILLED
    assert Order.objects.get(pk=case.order.pk).status == PROCESS.DONE


def test_stand_in_grant_is_for_that_order_only(world, case, stand_in, client_for):
    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp, number=99
    )
    client = client_for(stand_in)
    assert client.get(f"/saker/{other.pk}/").status_code == 404
    assert listed(client, "/saker/")[0] == 1


def test_viewer_sees_the_case_but_is_offered_no_step_and_gets_403_on_it(case, viewer, client_for):
    client = client_for(viewer)
    page = client.get(f"/saker/{case.order.pk}/")
    assert page.status_code == 200
    assert f"/steg/{case.task.pk}/".encode() not in page.content
    assert page.context["may_manage"] is False
    assert listed(client, "/oppgaver/")[0] == 0

    url = f"/saker/{case.order.pk}/steg/{case.task.pk}/"
    assert client.get(url).status_code == 403
    assert client.post(url, step_data("sign_off")).status_code == 403
    assert not case.order.reviews.exists()


def test_viewer_may_not_take_a_step_through_the_service_either(case, viewer):
    with pytest.raises(services.PermissionDenied):
        services.sign_off(task=case.task, acting_user=viewer, outcome=Review.Outcome.FULFILLED)
    assert not case.order.reviews.exists()


# --- grants through groups ---------------------------------------------------------------


def _member_of(group):
    user = factories.UserFactory()
    user.groups.add(group)
    return user


def test_municipality_grant_through_a_group_lets_members_see_and_plan(world, order, client_for):
    group = Group.objects.create(name="Bergen kommuneoverlege")
    assign_perm(ACT_FOR_MUNICIPALITY, group, world.municipality)
    member = _member_of(group)
    client = client_for(member)
    task = lifecycle.open_task(order, "plan_measures")

    assert client.get(f"/saker/{order.pk}/").status_code == 200
    assert listed(client, "/saker/")[0] == 1
    assert listed(client, "/oppgaver/")[0] == 1

    response = client.post(f"/saker/{order.pk}/steg/{task.pk}/", step_data("plan_measures"))
    assert response.status_code == 302
    assert order.measures.count() == 1


def test_authority_grant_through_a_group_lets_members_sign_off(world, case, client_for):
    group = Group.objects.create(name="Vestland saksbehandlere")
    assign_perm(ACT_FOR_AUTHORITY, group, world.authority)
    client = client_for(_member_of(group))

    assert client.get(f"/saker/{case.order.pk}/").status_code == 200
    assert listed(client, "/oppgaver/")[0] == 1
    response = client.post(f"/saker/{case.order.pk}/steg/{case.task.pk}/", step_data("sign_off"))
    assert response.status_code == 302
    assert case.order.reviews.count() == 1


def test_single_order_grant_through_a_group_lets_members_sign_off(case, client_for):
    group = Group.objects.create(name="Stedfortredere")
    assign_perm(ACT_AS_CASEWORKER, group, case.order)
    client = client_for(_member_of(group))

    assert client.get(f"/saker/{case.order.pk}/").status_code == 200
    response = client.post(f"/saker/{case.order.pk}/steg/{case.task.pk}/", step_data("sign_off"))
    assert response.status_code == 302
    assert case.order.reviews.count() == 1


def test_group_grant_on_another_municipality_shows_nothing(world, order, client_for):
    group = Group.objects.create(name="Trondheim")
    assign_perm(ACT_FOR_MUNICIPALITY, group, world.other_municipality)
    client = client_for(_member_of(group))
    assert client.get(f"/saker/{order.pk}/").status_code == 404
    assert listed(client, "/saker/")[0] == 0
    assert listed(client, "/oppgaver/")[0] == 0


# --- withdrawing a grant takes effect at once ------------------------------------------


def test_removing_the_stand_in_grant_removes_access_at_once(case, stand_in, client_for):
    client = client_for(stand_in)
    url = f"/saker/{case.order.pk}/"
    assert client.get(url).status_code == 200

    remove_perm(ACT_AS_CASEWORKER, stand_in, case.order)

    assert client.get(url).status_code == 404
    assert client.get(f"{url}steg/{case.task.pk}/").status_code == 404
    assert client.get(f"{url}dokumenter/{case.document.pk}/").status_code == 404
    assert listed(client, "/saker/")[0] == 0
    assert listed(client, "/oppgaver/")[0] == 0


def test_removing_the_leaders_municipality_grant_removes_access_at_once(world, order, client_for):
    client = client_for(world.leader)
    assert client.get(f"/saker/{order.pk}/").status_code == 200

    remove_perm(ACT_FOR_MUNICIPALITY, world.leader, world.municipality)

    assert client.get(f"/saker/{order.pk}/").status_code == 404
    assert listed(client, "/oppgaver/")[0] == 0


def test_removing_a_group_grant_or_the_membership_removes_access_at_once(world, order, client_for):
    group = Group.objects.create(name="Bergen")
    assign_perm(ACT_FOR_MUNICIPALITY, group, world.municipality)
    member = _member_of(group)
    client = client_for(member)
    assert client.get(f"/saker/{order.pk}/").status_code == 200

    remove_perm(ACT_FOR_MUNICIPALITY, group, world.municipality)
    assert client.get(f"/saker/{order.pk}/").status_code == 404

    assign_perm(ACT_FOR_MUNICIPALITY, group, world.municipality)
    assert client.get(f"/saker/{order.pk}/").status_code == 200
    member.groups.remove(group)
    assert client.get(f"/saker/{order.pk}/").status_code == 404


def test_removing_the_view_grant_removes_access_at_once(case, viewer, client_for):
    client = client_for(viewer)
    assert client.get(f"/saker/{case.order.pk}/").status_code == 200
    remove_perm(VIEW_ORDER, viewer, case.order)
    assert client.get(f"/saker/{case.order.pk}/").status_code == 404


# --- the access module itself ------------------------------------------------------------


ALL_ROLES = [
    "caseworker",
    "leader",
    "gp_user",
    "stand_in",
    "viewer",
    "municipality_group_member",
    "authority_group_member",
    "order_group_member",
    "other_leader",
    "other_caseworker",
    "other_gp_user",
    "anonymous",
    "inactive_caseworker",
]
SEES_THE_ORDER = {
    "caseworker",
    "leader",
    "gp_user",
    "stand_in",
    "viewer",
    "municipality_group_member",
    "authority_group_member",
    "order_group_member",
}
# Which roles have the open step of each stage in their task queue.
TASK_OWNERS = {
    "plan_measures": {"leader", "municipality_group_member"},
    "acknowledge": {"gp_user"},
    "confirm_completion": {"leader", "municipality_group_member"},
    "sign_off": {"caseworker", "stand_in", "authority_group_member", "order_group_member"},
}


@pytest.fixture
def role(world, order, person):
    def lookup(name):
        if name == "anonymous":
            return AnonymousUser()
        if name == "inactive_caseworker":
            user = factories.caseworker_for(world.authority, username="sluttet")
            user.is_active = False
            user.save()
            return user
        if name.endswith("_group_member"):
            group = Group.objects.create(name=name)
            target = {
                "municipality_group_member": (ACT_FOR_MUNICIPALITY, world.municipality),
                "authority_group_member": (ACT_FOR_AUTHORITY, world.authority),
                "order_group_member": (ACT_AS_CASEWORKER, order),
            }[name]
            assign_perm(target[0], group, target[1])
            return _member_of(group)
        return person(name)

    return lookup


@pytest.mark.parametrize("name", ALL_ROLES)
def test_orders_visible_to_each_role(order, role, name):
    visible = list(access.Capabilities.of(role(name)).orders_visible())
    assert visible == ([order] if name in SEES_THE_ORDER else [])


@pytest.mark.parametrize("step", lifecycle.STAGES)
@pytest.mark.parametrize("name", ALL_ROLES)
def test_actionable_tasks_for_each_role_at_each_stage(world, order, role, name, step):
    user = role(name)
    lifecycle.advance(order, world.leader, step)
    task = lifecycle.open_task(order, step)

    tasks = list(access.Capabilities.of(user).actionable_tasks())

    assert tasks == ([task] if name in TASK_OWNERS[step] else [])
    if name in SEES_THE_ORDER:
        assert access.Capabilities.of(user).may_take_step(order, task) == (
            name in TASK_OWNERS[step]
        )


def test_a_person_with_many_grants_sees_the_order_and_its_task_once(world, order):
    user = world.leader
    group = Group.objects.create(name="Alt")
    user.groups.add(group)
    assign_perm(ACT_FOR_MUNICIPALITY, group, world.municipality)
    assign_perm(VIEW_ORDER, user, order)
    assign_perm(ACT_AS_CASEWORKER, user, order)
    assign_perm(ACT_FOR_AUTHORITY, user, world.authority)

    assert access.Capabilities.of(user).orders_visible().count() == 1
    assert access.Capabilities.of(user).actionable_tasks().count() == 1


def test_outsiders_see_only_their_own_cases(world, order):
    personnel = factories.HealthPersonnelFactory(municipality=world.other_municipality)
    theirs = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=personnel,
        number=5678,
    )
    assert list(access.Capabilities.of(world.other_leader).orders_visible()) == [theirs]
    assert list(access.Capabilities.of(world.other_caseworker).orders_visible()) == [theirs]
    assert list(access.Capabilities.of(world.other_gp_user).orders_visible()) == []
    assert list(access.Capabilities.of(world.leader).orders_visible()) == [order]
    assert list(access.Capabilities.of(world.caseworker).orders_visible()) == [order]


def test_a_withdrawn_case_stays_visible_but_has_no_steps(world, case, stand_in):
    services.withdraw_order(order=case.order, acting_user=world.caseworker, reason="Feil")
    for user in (world.caseworker, world.leader, world.gp_user, stand_in):
        assert list(access.Capabilities.of(user).orders_visible()) == [case.order]
        assert not access.Capabilities.of(user).actionable_tasks().exists()
    order = Order.objects.get(pk=case.order.pk)
    assert not access.Capabilities.of(world.caseworker).may_manage_case(order)


# --- the access log --------------------------------------------------------------------


def latest_sequence():
    """Access events are never deleted; tests look at those written after this point."""
    newest = AccessEvent.objects.order_by("-sequence").first()
    return newest.sequence if newest else 0


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_refused_look_at_the_case_is_logged(case, person, client_for, outsider):
    """404 as for a missing case, but one refused event on the case probed: its id as target
    and case, the outsider's own role and organisation (capacity_of), and the case's issuing
    authority as overseer, so its security officer sees who probed it."""
    user = person(outsider)
    client = client_for(user)
    pk = case.order.pk
    general = OrganisationCapabilities.of(user).capacity()
    expected = {
        f"/saker/{pk}/": "view_case",
        f"/saker/{pk}/dokumenter/{case.document.pk}/": "download_document",
        f"/saker/{pk}/steg/{case.task.pk}/": "open_step",
        f"/saker/{pk}/frist/": "manage_case",
        f"/saker/{pk}/trekk-tilbake/": "manage_case",
        f"/saker/{pk}/klage/": "manage_case",
        f"/saker/{pk}/klage/{case.appeal.pk}/": "manage_case",
    }
    for method in ("GET", "POST"):
        for url, action in expected.items():
            before = latest_sequence()
            assert request(client, method, url).status_code == 404, (method, url)
            event = AccessEvent.objects.get(sequence__gt=before)
            assert (event.user, event.action, event.outcome) == (user, action, "refused"), url
            assert (event.target_type, event.target_id) == ("order", str(pk)), url
            assert event.case_id == str(pk), url
            assert (event.role, event.organisation, event.authority_id) == (
                general.role,
                general.organisation,
                case.order.issuing_authority_id,
            ), url


def test_refused_look_at_a_missing_case_is_logged_the_same_way(world, client_for):
    """No case to put it on: no case id, and the user's own authority oversees the event."""
    pk = missing_pk()
    client = client_for(world.other_leader)
    logged_in = AccessEvent.objects.get()  # logging in is an event of its own
    response = client.get(f"/saker/{pk}/")
    assert response.status_code == 404
    event = AccessEvent.objects.exclude(pk=logged_in.pk).get()
    assert (event.action, event.target_type, event.target_id, event.outcome) == (
        "view_case",
        "order",
        str(pk),
        "refused",
    )
    assert event.case_id == ""
    assert (event.role, event.organisation, event.authority_id) == (
        "leader",
        world.other_municipality.name,
        world.other_authority.pk,
    )
    general = OrganisationCapabilities.of(world.other_leader).capacity()
    assert (general.role, general.organisation, general.authority_id) == (
        event.role,
        event.organisation,
        event.authority_id,
    )


@pytest.mark.parametrize("insider", ["caseworker", "leader", "gp_user", "stand_in", "viewer"])
def test_permitted_look_at_the_case_is_logged_as_shown(case, person, client_for, insider):
    user = person(insider)
    client = client_for(user)
    before = latest_sequence()

    client.get(f"/saker/{case.order.pk}/")
    fetch_document(client.get(f"/saker/{case.order.pk}/dokumenter/{case.document.pk}/"))

    events = list(AccessEvent.objects.filter(sequence__gt=before).order_by("sequence"))
    assert [(e.user, e.action, e.outcome, e.case_id) for e in events] == [
        (user, "view_case", "shown", str(case.order.pk)),
        (user, "download_document", "shown", str(case.order.pk)),
    ]
    assert (events[0].target_type, events[0].target_id) == ("orders.order", str(case.order.pk))
    assert (events[1].target_type, events[1].target_id) == (
        "courses.evidencedocument",
        str(case.document.pk),
    )
    assert not AccessEvent.objects.filter(outcome="refused").exists()


def test_no_warning_message_leaks_to_outsiders(case, person, client_for):
    """A refused request leaves no flash message that would name the case later."""
    client = client_for(person("other_leader"))
    response = client.post(case_urls(case)["sign-off step"], step_data("sign_off"))
    assert response.status_code == 404
    assert list(get_messages(response.wsgi_request)) == []
