"""Every kind of access writes exactly one access event, saying who looked, in which capacity
(role, organisation, overseeing authority), at what, on which case, and whether it was shown or
refused. Events are never deleted, so each request is compared with the sequence before it."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.models import AccessEvent
from courses.models import EvidenceDocument, Measure
from municipalities.access import OrganisationCapabilities
from municipalities.models import ACT_FOR_AUTHORITY
from orders import services
from orders.models import ACT_AS_CASEWORKER
from tests import factories
from tests.orders import lifecycle
from tests.orders.http_flow import form_errors, open_step, plan_data, step_url
from tests.snapshots import snapshot_fixture

IP = "127.0.0.1"  # Django's test client's REMOTE_ADDR
NOT_A_PK = 987_654


def last_sequence() -> int:
    return AccessEvent.objects.aggregate(last=Max("sequence"))["last"] or 0


@dataclass
class Visit:
    response: object
    events: list

    @property
    def event(self) -> AccessEvent:
        assert len(self.events) == 1, f"expected one access event, got {summary(self.events)}"
        return self.events[0]

    def of(self, action) -> list:
        return [e for e in self.events if e.action == action]


def summary(events) -> list:
    return [(e.action, e.outcome, e.target_type, e.target_id) for e in events]


@pytest.fixture
def visit(client_for):
    """``visit(user, url)`` (``data=`` posts): the response and the events it wrote."""

    def send(user, url, data=None):
        client = client_for(user)
        before = last_sequence()
        response = client.get(url) if data is None else client.post(url, data)
        if response.streaming:
            # Reading to the end closes the file; the test client closes the response then
            # (closing it again here would fire request_finished and drop the connection).
            b"".join(response.streaming_content)
        events = list(AccessEvent.objects.filter(sequence__gt=before).order_by("sequence"))
        return Visit(response, events)

    return send


def fields(event) -> dict:
    return {
        "user": event.user_id,
        "role": event.role,
        "organisation": event.organisation,
        "authority_id": event.authority_id,
        "action": event.action,
        "target": (event.target_type, event.target_id),
        "case_id": event.case_id,
        "outcome": event.outcome,
        "ip_address": event.ip_address,
        "detail": event.detail,
    }


def expected(user, action, target, capacity, *, case=None, outcome="shown", detail="") -> dict:
    """``target`` is (type, id); ``capacity`` is (role, organisation, authority id)."""
    role, organisation, authority_id = capacity
    return {
        "user": user.pk,
        "role": role,
        "organisation": organisation,
        "authority_id": authority_id,
        "action": action,
        "target": (target[0], str(target[1])),
        "case_id": str(case.pk) if case is not None else "",
        "outcome": outcome,
        "ip_address": IP,
        "detail": detail,
    }


def general(user):
    """The capacity outside any one case, as municipalities.access.OrganisationCapabilities.capacity gives it."""
    capacity = OrganisationCapabilities.of(user).capacity()
    return capacity.role, capacity.organisation, capacity.authority_id


# ----------------------------------------------------------------------------- the case


@snapshot_fixture
def planned(world, order):
    """The order with a course and a supervision measure planned (the supervisor, at a GP
    office, got a login from the plan) and a certificate on the course; the GP's step
    (acknowledge) is open."""
    world.supervisor.gp_office = factories.GPOfficeFactory(
        name="Fjellsiden legesenter", municipality=world.municipality
    )
    world.supervisor.save()
    lifecycle.plan(order, world.leader, measures=2, supervisor=world.supervisor)
    world.supervisor.refresh_from_db()
    course = order.measures.get(kind=Measure.Kind.COURSE)
    services.add_measure_document(
        measure=course,
        acting_user=world.leader,
        uploaded_file=lifecycle.pdf("kursbevis.pdf"),
        kind=EvidenceDocument.Kind.CERTIFICATE,
    )
    return order


def course_of(order):
    return order.measures.get(kind=Measure.Kind.COURSE)


def supervision_of(order):
    return order.measures.get(kind=Measure.Kind.SUPERVISION)


def document_of(order):
    return EvidenceDocument.objects.get(order=order)


def case_url(order):
    return f"/saker/{order.pk}/"


def document_url(order, document_pk):
    return f"/saker/{order.pk}/dokumenter/{document_pk}/"


def measure_url(order, measure_pk):
    return f"/saker/{order.pk}/tiltak/{measure_pk}/"


# Who looks at the case page, and the capacity the log must show for them.
VIEWERS = ["caseworker", "leader", "gp", "supervisor", "helsetilsynet"]


def viewer(world, kind):
    """(user, role, organisation) for a kind of person who may see the world's case."""
    if kind == "caseworker":
        return world.caseworker, "caseworker", world.authority.name
    if kind == "leader":
        return world.leader, "leader", world.municipality.name
    if kind == "gp":
        return world.gp_user, "personnel", ""
    if kind == "supervisor":
        return world.supervisor.user, "supervisor", "Fjellsiden legesenter"
    national = factories.helsetilsynet()
    return factories.caseworker_for(national, username="tilsyn"), "caseworker", national.name


@pytest.mark.parametrize("kind", VIEWERS)
def test_case_page_logs_one_event_in_the_viewers_capacity(world, planned, visit, kind):
    user, role, organisation = viewer(world, kind)

    seen = visit(user, case_url(planned))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        user,
        "view_case",
        ("orders.order", planned.pk),
        (role, organisation, world.authority.pk),
        case=planned,
    )


@pytest.mark.parametrize("kind", VIEWERS)
def test_measure_page_logs_one_event_in_the_viewers_capacity(world, planned, visit, kind):
    user, role, organisation = viewer(world, kind)
    measure = supervision_of(planned)

    seen = visit(user, measure_url(planned, measure.pk))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        user,
        "view_measure",
        ("courses.measure", measure.pk),
        (role, organisation, world.authority.pk),
        case=planned,
    )


@pytest.mark.parametrize("kind", VIEWERS)
def test_document_download_logs_one_event_in_the_viewers_capacity(world, planned, visit, kind):
    user, role, organisation = viewer(world, kind)
    document = document_of(planned)
    if kind == "supervisor":
        # A supervisor downloads only documents of their own measure.
        document = services.add_measure_document(
            measure=supervision_of(planned),
            acting_user=user,
            uploaded_file=lifecycle.pdf("veiledning.pdf"),
            kind=EvidenceDocument.Kind.SUPERVISOR_REPORT,
        )

    seen = visit(user, document_url(planned, document.pk))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        user,
        "download_document",
        ("courses.evidencedocument", document.pk),
        (role, organisation, world.authority.pk),
        case=planned,
    )


def test_case_event_is_overseen_by_the_issuing_authority_not_the_viewers(world, visit):
    """Helsetilsynet issues an order about a Bergen GP: the statsforvalter covering Bergen sees
    it as its caseworker, but the event belongs to Helsetilsynet's log."""
    national = factories.helsetilsynet()
    order = factories.issue_order(
        caseworker=factories.caseworker_for(national, username="tilsyn"),
        authority=national,
        personnel=world.gp,
    )

    seen = visit(world.caseworker, case_url(order))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        world.caseworker,
        "view_case",
        ("orders.order", order.pk),
        ("caseworker", world.authority.name, national.pk),
        case=order,
    )


def test_caseworker_of_two_authorities_is_logged_under_the_one_that_covers_the_case(
    world, order, visit
):
    """Caseworker for the Trondheim statsforvalter (lower pk) and for Helsetilsynet: the Bergen
    case is seen through Helsetilsynet, so the event names Helsetilsynet, not the first by pk."""
    national = factories.helsetilsynet()
    both = factories.caseworker_for(world.other_authority, username="to.hatter")
    assign_perm(ACT_FOR_AUTHORITY, both, national)
    assert world.other_authority.pk < national.pk

    seen = visit(both, case_url(order))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        both,
        "view_case",
        ("orders.order", order.pk),
        ("caseworker", national.name, world.authority.pk),
        case=order,
    )


@pytest.mark.parametrize(
    ("hats", "seen_as"),
    [
        (["unrelated", "national", "covering"], "covering"),
        (["unrelated", "national"], "national"),
        (["unrelated", "later"], "unrelated"),
    ],
    ids=["covering-first", "then-helsetilsynet", "then-lowest-pk"],
)
def test_caseworker_of_several_authorities_is_logged_under_the_nearest_one(
    world, visit, hats, seen_as
):
    """orders.access.capacity_on: the authority covering the case's municipality, else
    Helsetilsynet, else the lowest pk (a stand-in granted only this order). Created in order
    unrelated < national < covering < later, so the preference is not the pk order; the event
    always belongs to the issuing authority."""
    authorities = {
        "unrelated": world.authority,
        "national": factories.helsetilsynet(),
        "covering": factories.AuthorityFactory(name="Statsforvalteren i Nordfylke"),
        "later": factories.AuthorityFactory(name="Statsforvalteren i Sørfylke"),
    }
    municipality = factories.MunicipalityFactory(authority=authorities["covering"])
    case = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=factories.HealthPersonnelFactory(municipality=municipality),
    )
    user = factories.UserFactory(username="mange.hatter")
    for hat in hats:
        assign_perm(ACT_FOR_AUTHORITY, user, authorities[hat])
    if seen_as == "unrelated":
        assign_perm(ACT_AS_CASEWORKER, user, case)  # otherwise they would not see it at all

    seen = visit(user, case_url(case))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        user,
        "view_case",
        ("orders.order", case.pk),
        ("caseworker", authorities[seen_as].name, world.other_authority.pk),
        case=case,
    )


# ----------------------------------------------------------------------------- refused


def outsider(world, kind):
    """(user, capacity) for someone who may not see the world's case, in their general
    capacity (OrganisationCapabilities.capacity)."""
    if kind == "other_leader":
        capacity = ("leader", world.other_municipality.name, world.other_authority.pk)
        return world.other_leader, capacity
    if kind == "other_gp":
        # Same municipality as the case's GP: overseen by the same authority, but not theirs.
        return world.other_gp_user, ("health_personnel", "", world.authority.pk)
    capacity = ("caseworker", world.other_authority.name, world.other_authority.pk)
    return world.other_caseworker, capacity


def on_the_case(capacity, order):
    """An outsider's refused look is logged on the case they probed: their own role and
    organisation, but overseen by the case's issuing authority (whose security officer should
    see who probed it)."""
    role, organisation, _authority_id = capacity
    return role, organisation, order.issuing_authority_id


def refused_urls(order):
    """The pages of a case an outsider may try, with the action their refusal is logged as."""
    return [
        ("view_case", case_url(order)),
        ("download_document", document_url(order, document_of(order).pk)),
        ("view_measure", measure_url(order, supervision_of(order).pk)),
        ("open_step", step_url(order, open_step(order, "acknowledge"))),
        ("manage_case", f"{case_url(order)}frist/"),
    ]


@pytest.mark.parametrize("kind", ["other_leader", "other_gp", "other_caseworker"])
@pytest.mark.parametrize(
    "page", [0, 1, 2, 3, 4], ids=["case", "document", "measure", "step", "manage"]
)
def test_outsider_gets_404_and_one_refused_event_on_that_case(world, planned, visit, kind, page):
    """The outsider learns nothing (404, as for a missing case), but the event is on the case
    they probed: its id as target and case, overseen by its issuing authority."""
    user, capacity = outsider(world, kind)
    action, url = refused_urls(planned)[page]

    seen = visit(user, url)

    assert seen.response.status_code == 404
    assert fields(seen.event) == expected(
        user,
        action,
        ("order", planned.pk),
        on_the_case(capacity, planned),
        case=planned,
        outcome="refused",
    )
    assert capacity == general(user)


@pytest.mark.parametrize("kind", ["other_leader", "other_gp", "other_caseworker"])
def test_outsiders_probe_is_overseen_by_the_issuing_authority_not_their_own(world, visit, kind):
    """A Helsetilsynet case about a Bergen GP, probed from Trondheim and by another Bergen GP:
    the event belongs to Helsetilsynet's log, not to the prober's nor the covering authority's."""
    national = factories.helsetilsynet()
    case = factories.issue_order(
        caseworker=factories.caseworker_for(national, username="tilsyn"),
        authority=national,
        personnel=factories.HealthPersonnelFactory(municipality=world.municipality),
    )
    user, capacity = outsider(world, kind)

    seen = visit(user, case_url(case))

    assert seen.response.status_code == 404
    assert fields(seen.event) == expected(
        user,
        "view_case",
        ("order", case.pk),
        (capacity[0], capacity[1], national.pk),
        case=case,
        outcome="refused",
    )


@pytest.mark.parametrize(
    ("action", "url"),
    [
        ("view_case", f"/saker/{NOT_A_PK}/"),
        ("download_document", f"/saker/{NOT_A_PK}/dokumenter/1/"),
        ("view_measure", f"/saker/{NOT_A_PK}/tiltak/1/"),
        ("open_step", f"/saker/{NOT_A_PK}/steg/1/"),
    ],
)
def test_unknown_case_gets_404_and_one_refused_event(world, order, visit, action, url):
    """No case to put it on: no case id, and overseen by the user's own authority."""
    seen = visit(world.caseworker, url)

    assert seen.response.status_code == 404
    assert fields(seen.event) == expected(
        world.caseworker,
        action,
        ("order", NOT_A_PK),
        ("caseworker", world.authority.name, world.authority.pk),
        outcome="refused",
    )
    assert (seen.event.role, seen.event.organisation, seen.event.authority_id) == general(
        world.caseworker
    )


@snapshot_fixture
def other_case(world):
    """A Trondheim case, planned and with a document, that nobody in Bergen may see."""
    other_gp = factories.HealthPersonnelFactory(municipality=world.other_municipality)
    other = factories.issue_order(
        caseworker=world.other_caseworker, authority=world.other_authority, personnel=other_gp
    )
    lifecycle.advance(other, world.other_leader, "sign_off")
    return other


@pytest.mark.parametrize("kind", ["document", "measure", "task", "unknown"])
def test_probe_through_a_visible_case_is_refused_on_that_case(
    world, planned, other_case, visit, kind
):
    """Another case's document, measure or step reached through one's own case: 404, one
    refused event on the visible case, in the capacity held on it."""
    found = {
        "document": ("download_document", "document", document_of(other_case).pk),
        "measure": ("view_measure", "measure", course_of(other_case).pk),
        "task": ("open_step", "task", open_step(other_case, "sign_off").pk),
        "unknown": ("view_measure", "measure", NOT_A_PK),
    }
    action, target_type, pk = found[kind]
    path = {"document": "dokumenter", "measure": "tiltak", "task": "steg"}.get(target_type)

    seen = visit(world.leader, f"/saker/{planned.pk}/{path}/{pk}/")

    assert seen.response.status_code == 404
    assert fields(seen.event) == expected(
        world.leader,
        action,
        (target_type, pk),
        ("leader", world.municipality.name, world.authority.pk),
        case=planned,
        outcome="refused",
    )


# ----------------------------------------------------------------------------- step pages


def test_step_page_logs_one_event(world, order, visit):
    task = open_step(order, "plan_measures")

    seen = visit(world.leader, step_url(order, task))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        world.leader,
        "open_step",
        ("viewflow.task", task.pk),
        ("leader", world.municipality.name, world.authority.pk),
        case=order,
    )


def test_gps_step_page_logs_one_event_as_personnel(world, planned, visit):
    task = open_step(planned, "acknowledge")

    seen = visit(world.gp_user, step_url(planned, task))

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        world.gp_user,
        "open_step",
        ("viewflow.task", task.pk),
        ("personnel", "", world.authority.pk),
        case=planned,
    )


def test_step_of_someone_else_is_refused_with_one_event(world, order, visit):
    """The GP sees the case but the plan is the municipality's step: 403, logged refused."""
    task = open_step(order, "plan_measures")

    seen = visit(world.gp_user, step_url(order, task))

    assert seen.response.status_code == 403
    assert fields(seen.event) == expected(
        world.gp_user,
        "open_step",
        ("viewflow.task", task.pk),
        ("personnel", "", world.authority.pk),
        case=order,
        outcome="refused",
    )


def test_invalid_step_post_logs_one_event_for_the_page_it_renders_again(world, order, visit):
    """A form with errors shows the step page again: one open_step, as for the first GET."""
    task = open_step(order, "plan_measures")
    invalid = plan_data([], received=False)

    seen = visit(world.leader, step_url(order, task), data=invalid)

    assert seen.response.status_code == 200
    assert "received" in seen.response.context["form"].errors
    assert fields(seen.event) == expected(
        world.leader,
        "open_step",
        ("viewflow.task", task.pk),
        ("leader", world.municipality.name, world.authority.pk),
        case=order,
    )


def test_step_post_that_is_taken_renders_no_page_and_logs_no_open_step(world, order, visit):
    """The step taken is in the change history; the redirect shows nothing to log."""
    task = open_step(order, "plan_measures")
    measure = {
        "kind": "course",
        "course": factories.course().pk,
        "planned_completion": order.deadline.isoformat(),
    }

    seen = visit(world.leader, step_url(order, task), data=plan_data([measure]))

    assert seen.response.status_code == 302, form_errors(seen.response)
    assert seen.of("open_step") == []


def test_invalid_measure_action_logs_one_event_for_the_page_it_renders_again(world, planned, visit):
    """An arrangement posted with errors shows the measure page again: one view_measure, as
    for the GET of that page."""
    measure = supervision_of(planned)

    seen = visit(world.leader, measure_url(planned, measure.pk) + "veiledningsavtale/", data={})

    assert seen.response.status_code == 200
    assert seen.response.context["bound"].errors
    assert fields(seen.event) == expected(
        world.leader,
        "view_measure",
        ("courses.measure", measure.pk),
        ("leader", world.municipality.name, world.authority.pk),
        case=planned,
    )


def test_measure_action_taken_renders_no_page_and_logs_no_view_measure(world, planned, visit):
    """The arrangement saved is in the change history; the redirect shows nothing to log."""
    measure = supervision_of(planned)
    today = timezone.localdate()
    arrangement = {
        "arrange-agreed_sessions": "6",
        "arrange-period_start": today.isoformat(),
        "arrange-period_end": (today + timedelta(days=90)).isoformat(),
    }

    seen = visit(world.leader, measure_url(planned, measure.pk) + "veiledningsavtale/", arrangement)

    assert seen.response.status_code == 302, form_errors(seen.response)
    assert seen.events == []


def test_measure_action_refused_with_403_logs_one_refused_event(world, planned, visit):
    measure = supervision_of(planned)

    seen = visit(world.gp_user, measure_url(planned, measure.pk) + "veiledningsavtale/", data={})

    assert seen.response.status_code == 403
    assert [(e.outcome, e.target_type, e.target_id, e.case_id) for e in seen.events] == [
        ("refused", "courses.measure", str(measure.pk), str(planned.pk))
    ]


# ----------------------------------------------------------------------------- case actions


@snapshot_fixture
def appealed(world, planned):
    """The planned case with an appeal awaiting decision."""
    appeal = services.register_appeal(
        order=planned, acting_user=world.caseworker, received_on=timezone.localdate(), note="Klage"
    )
    return planned, appeal


def manage_urls(order, appeal):
    """The pages that manage a case, for its issuing side only."""
    return {
        "extend": f"{case_url(order)}frist/",
        "withdraw": f"{case_url(order)}trekk-tilbake/",
        "register appeal": f"{case_url(order)}klage/",
        "decide appeal": f"{case_url(order)}klage/{appeal.pk}/",
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("page", ["extend", "withdraw", "register appeal", "decide appeal"])
@pytest.mark.parametrize("kind", ["leader", "gp", "supervisor", "helsetilsynet"])
def test_case_action_refused_with_403_logs_one_refused_event(
    world, appealed, visit, kind, page, method
):
    """They see the case but may not manage it: 403, one refused manage_case on the case, in
    the capacity they hold on it."""
    order, appeal = appealed
    user, role, organisation = viewer(world, kind)

    seen = visit(user, manage_urls(order, appeal)[page], data={} if method == "POST" else None)

    assert seen.response.status_code == 403
    assert fields(seen.event) == expected(
        user,
        "manage_case",
        ("orders.order", order.pk),
        (role, organisation, world.authority.pk),
        case=order,
        outcome="refused",
    )


@pytest.mark.parametrize("page", ["extend", "withdraw", "register appeal"])
def test_case_action_on_a_closed_case_is_refused_with_one_event(world, appealed, visit, page):
    """The issuing caseworker, once the case is withdrawn: sent back to the case with a
    message (not a 403), logged refused as caseworker."""
    order, appeal = appealed
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Feil person")

    seen = visit(world.caseworker, manage_urls(order, appeal)[page])

    assert (seen.response.status_code, seen.response["Location"]) == (302, case_url(order))
    assert fields(seen.event) == expected(
        world.caseworker,
        "manage_case",
        ("orders.order", order.pk),
        ("caseworker", world.authority.name, world.authority.pk),
        case=order,
        outcome="refused",
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_case_action_page_for_the_issuing_caseworker_logs_no_refusal(
    world, appealed, visit, method
):
    order, appeal = appealed

    for url in manage_urls(order, appeal).values():
        seen = visit(world.caseworker, url, data={} if method == "POST" else None)

        assert seen.response.status_code == 200, url
        assert [e for e in seen.events if e.outcome == "refused"] == [], url


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", ["unknown", "decided", "other case's"])
def test_unknown_appeal_gets_404_and_one_refused_event(
    world, appealed, other_case, visit, kind, method
):
    """An appeal id that is not pending on this case: 404 (a decided one: back to the case
    with a message), one refused manage_case naming the appeal id, on the case it was tried
    through."""
    order, appeal = appealed
    today = timezone.localdate()
    if kind == "unknown":
        appeal_pk = NOT_A_PK
    elif kind == "decided":
        services.decide_appeal(
            appeal=appeal,
            acting_user=world.caseworker,
            outcome="upheld",
            decided_by="nemnd",
            decided_on=today,
        )
        appeal_pk = appeal.pk
    else:
        appeal_pk = services.register_appeal(
            order=other_case, acting_user=world.other_caseworker, received_on=today
        ).pk
    url = f"{case_url(order)}klage/{appeal_pk}/"

    seen = visit(world.caseworker, url, data={} if method == "POST" else None)

    assert seen.response.status_code == (302 if kind == "decided" else 404)
    assert fields(seen.event) == expected(
        world.caseworker,
        "manage_case",
        ("appeal", appeal_pk),
        ("caseworker", world.authority.name, world.authority.pk),
        case=order,
        outcome="refused",
    )


# ----------------------------------------------------------------------------- lists and look-ups


def test_case_search_logs_the_term_and_the_case_numbers_shown(world, order, visit):
    another = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1235
    )

    seen = visit(world.caseworker, "/saker/?q=2026/123")

    assert seen.response.status_code == 200
    shown = [o.case_number for o in seen.response.context["page"].object_list]
    assert sorted(shown) == [order.case_number, another.case_number]
    assert fields(seen.event) == expected(
        world.caseworker,
        "search_cases",
        ("search", 2),
        ("caseworker", world.authority.name, world.authority.pk),
        detail=f"2026/123 → {','.join(shown)}",
    )


def test_case_search_with_no_match_logs_the_term(world, order, visit):
    seen = visit(world.leader, "/saker/?q=Finnes+ikke")

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        world.leader,
        "search_cases",
        ("search", 0),
        ("leader", world.municipality.name, world.authority.pk),
        detail="Finnes ikke → ",
    )


@pytest.mark.parametrize("query", ["", "?state=open", "?q=+++", "?side=2"])
def test_case_list_without_a_term_logs_nothing(world, order, visit, query):
    seen = visit(world.caseworker, f"/saker/{query}")

    assert seen.response.status_code == 200
    assert seen.events == []


def test_personnel_lookup_logs_one_event_as_caseworker(world, visit):
    seen = visit(world.caseworker, "/oppslag/helsepersonell/?q=900000")

    assert seen.response.status_code == 200
    found = len(seen.response.json()["results"])
    assert found == 3  # the GP, the other GP and the supervisor
    assert fields(seen.event) == expected(
        world.caseworker,
        "search_personnel",
        ("search", found),
        ("caseworker", world.authority.name, world.authority.pk),
        detail="900000",
    )
    assert (seen.event.role, seen.event.organisation, seen.event.authority_id) == general(
        world.caseworker
    )


@pytest.mark.parametrize("term", ["900000", "9", ""])
@pytest.mark.parametrize(
    ("who", "capacity"),
    [
        ("leader", lambda w: ("leader", w.municipality.name, w.authority.pk)),
        ("gp_user", lambda w: ("health_personnel", "", w.authority.pk)),
    ],
)
def test_personnel_lookup_by_a_non_caseworker_is_refused_with_one_event(
    world, visit, who, capacity, term
):
    """Only those who may issue orders look health personnel up: anyone else gets 404 and one
    refused event in their general capacity, whatever the term (which is not kept)."""
    user = getattr(world, who)

    seen = visit(user, f"/oppslag/helsepersonell/?q={term}")

    assert seen.response.status_code == 404
    assert fields(seen.event) == expected(
        user, "search_personnel", ("search", 0), capacity(world), outcome="refused"
    )
    assert capacity(world) == general(user)


def test_personnel_lookup_too_short_to_search_logs_nothing(world, visit):
    seen = visit(world.caseworker, "/oppslag/helsepersonell/?q=9")

    assert seen.response.json() == {"results": []}
    assert seen.events == []


@pytest.mark.parametrize(
    ("who", "capacity"),
    [
        ("leader", lambda w: ("leader", w.municipality.name, w.authority.pk)),
        ("caseworker", lambda w: ("caseworker", w.authority.name, w.authority.pk)),
    ],
)
def test_municipality_overview_logs_one_event(world, order, visit, who, capacity):
    user = getattr(world, who)

    seen = visit(user, f"/kommuner/{world.municipality.number}/")

    assert seen.response.status_code == 200
    assert fields(seen.event) == expected(
        user,
        "view_municipality",
        ("municipalities.municipality", world.municipality.pk),
        capacity(world),
    )
    assert capacity(world) == general(user)


@pytest.mark.parametrize("number", ["4601", "9999"], ids=["other", "unknown"])
def test_municipality_overview_refused_logs_one_event(world, visit, number):
    seen = visit(world.other_leader, f"/kommuner/{number}/")

    assert seen.response.status_code == 404
    assert fields(seen.event) == expected(
        world.other_leader,
        "view_municipality",
        ("municipality", number),
        ("leader", world.other_municipality.name, world.other_authority.pk),
        outcome="refused",
    )
