"""The one place that answers "may this user see this order, and which steps may they take".

A user's grants are resolved once per request into a ``Capabilities`` object
(request.capabilities, made by config.middleware.CapabilitiesMiddleware): the organisations
of municipalities.access.OrganisationCapabilities, plus the single orders granted to them
(guardian's direct foreign-key tables, directly or through a group) and their active
supervision grants — all in one UNION ALL query. Every check, list filter, menu flag and
access-log capacity asks that object, so a page asks the database about permissions once
whatever it shows; lists filter on the ids it holds. Services re-check under the case's lock
with a fresh object (``Capabilities.of``): a grant ended a moment ago must not act. Anything
the user may not see is reported as "does not exist" (404) by the callers.

A supervisor's access is not a guardian permission: it is an active ``SupervisionGrant`` row
(recorded, with a reason and an end), and it shows only what supervision needs: who the order
concerns, what it requires, the deadline, and the supervisor's own measure with its documents
(``may_see_full_case``, ``supervised_measures_of``).
"""

from dataclasses import dataclass

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from audit import Capacity
from audit.models import Role
from courses.actions import Who
from courses.models import Measure
from municipalities.access import (
    OrganisationCapabilities,
    codename,
    grant_rows,
    has_logged_in,
    permission_rows,
)
from municipalities.models import Appointment, Authority, User

from . import steps
from .models import (
    ACT_AS_CASEWORKER,
    NextDeadline,
    Order,
    OrderGroupObjectPermission,
    OrderUserObjectPermission,
    SupervisionGrant,
)

OPEN_TASK_STATUSES = (STATUS.NEW, STATUS.ASSIGNED)


def step_name(task) -> str:
    return task.flow_task.name


def is_closed(order) -> bool:
    """Withdrawn and fulfilled cases are closed and read-only."""
    return order.status in (PROCESS.DONE, PROCESS.CANCELED)


@dataclass(frozen=True)
class OrderGrant:
    """A guardian permission on one order (a stand-in caseworker's, or another)."""

    order_id: int
    codename: str


@dataclass(frozen=True)
class Supervision:
    """An active supervision grant: the measure supervised and its order."""

    order_id: int
    measure_id: int


@dataclass(frozen=True)
class SupervisedMeasure:
    """A measure whose named supervisor is the user (grant or not), for the access log."""

    measure_id: int
    order_id: int
    office: str


@dataclass(frozen=True)
class Capabilities(OrganisationCapabilities):
    """What one user may do with orders, resolved once: their organisations (the base
    class), the orders granted to them one by one, their active supervision grants and the
    measures they are named supervisor of."""

    order_grants: tuple[OrderGrant, ...] = ()
    supervision: tuple[Supervision, ...] = ()
    supervises: tuple[SupervisedMeasure, ...] = ()

    @classmethod
    def grant_sources(cls, user) -> list:
        return [
            *super().grant_sources(user),
            *permission_rows(user, OrderUserObjectPermission, OrderGroupObjectPermission, "order"),
            grant_rows(
                SupervisionGrant.objects.filter(user=user, ended_at__isnull=True),
                "supervision",
                obj="measure_id",
                ref="order_id",
            ),
            grant_rows(
                Measure.objects.filter(supervisor__user=user),
                "supervises",
                obj="pk",
                ref="order_id",
                name="supervisor__gp_office__name",
            ),
        ]

    @classmethod
    def fields_from(cls, user, rows) -> dict:
        fields = super().fields_from(user, rows)
        granted = [r for r in rows if user.is_active]
        fields["order_grants"] = tuple(
            sorted(
                {OrderGrant(r["obj"], r["codename"]) for r in granted if r["source"] == "order"},
                key=lambda g: (g.order_id, g.codename),
            )
        )
        fields["supervision"] = tuple(
            sorted(
                {Supervision(r["ref"], r["obj"]) for r in granted if r["source"] == "supervision"},
                key=lambda s: s.measure_id,
            )
        )
        fields["supervises"] = tuple(
            sorted(
                (
                    SupervisedMeasure(r["obj"], r["ref"], r["name"])
                    for r in rows
                    if r["source"] == "supervises"
                ),
                key=lambda m: m.measure_id,
            )
        )
        return fields

    # --- ids the lists filter on -------------------------------------------------------------

    def _granted_order_ids(self, perm=None) -> list[int]:
        name = codename(perm) if perm else None
        return sorted({g.order_id for g in self.order_grants if name in (None, g.codename)})

    def supervised_order_ids(self) -> list[int]:
        return sorted({s.order_id for s in self.supervision})

    def supervised_measure_ids(self, order=None) -> list[int]:
        return [s.measure_id for s in self.supervision if order is None or s.order_id == order.pk]

    # --- who the user is on one order ----------------------------------------------------------

    def is_concerned(self, order) -> bool:
        """The health personnel the order is about.

        Separation of duties: they keep their own rights on it (acknowledge the plan, accept
        the course terms, see the case and who has read it) but never act on it for the
        authority or the municipality — no step, no managing the case, no appeal decision,
        no access log — whatever they are appointed to (a caseworker, leader or stand-in
        grant may predate the order, or be made behind the appointment pages' back). Every
        caseworker and leader check below, and their SQL filters, go through this."""
        return order.health_personnel_id in self.personnel_ids

    def may_act_as_caseworker(self, order) -> bool:
        """Issuing authority's caseworkers, and anyone granted this single order as stand-in;
        never the person it concerns."""
        if self.is_concerned(order):
            return False
        return order.issuing_authority_id in self.caseworker_authority_ids or (
            order.pk in self._granted_order_ids(ACT_AS_CASEWORKER)
        )

    def may_act_for_municipality_on(self, order) -> bool:
        """The municipality's leaders, on its order; never the person it concerns."""
        return not self.is_concerned(order) and order.municipality_id in self.led_municipality_ids

    def _covers(self, order) -> bool:
        """A caseworker of the authority covering the order's municipality, or of
        Helsetilsynet (every municipality)."""
        if not self.caseworker_for:
            return False
        return self.national_caseworker or (
            order.municipality.authority_id in self.caseworker_authority_ids
        )

    def may_see_full_case(self, order) -> bool:
        """Whether the user sees all of ``order`` (grounds, decisions, appeals, every measure
        and document, the timeline), or, as a supervisor only, what supervision needs: those
        its authority issued or whose municipality it covers, their municipality's, their own
        (as the health personnel concerned), and single orders granted to them."""
        if not self.active:
            return False
        return (
            order.issuing_authority_id in self.caseworker_authority_ids
            or self._covers(order)
            or order.municipality_id in self.led_municipality_ids
            or self.is_concerned(order)
            or order.pk in self._granted_order_ids()
        )

    def may_see_access_events(self, order) -> bool:
        """Who opened the case is for the authority: the issuing authority's caseworkers and
        stand-ins, and caseworkers of an authority covering the case (the statsforvalter of
        its municipality, Helsetilsynet). Leaders and supervisors do not see it; the health
        personnel concerned — whatever they are appointed to — sees only the reads of their
        own case, on its own page (innsyn), never the authority's log of it."""
        if not self.active or self.is_concerned(order):
            return False
        return self.may_act_as_caseworker(order) or self._covers(order)

    def may_take_step(self, order, task) -> bool:
        """May the user carry out ``task`` (an open step of ``order``) now? The step's actor
        (orders.steps) says whose rule it is (ACTOR_RULES)."""
        if task.status not in OPEN_TASK_STATUSES or is_closed(order):
            return False
        step = steps.of(task)
        return step is not None and ACTOR_RULES[step.actor](self, order)

    def may_manage_case(self, order) -> bool:
        """Extend the deadline, withdraw, register appeals: the issuing side, on an open case."""
        return not is_closed(order) and self.may_act_as_caseworker(order)

    def may_decide_appeal(self, order) -> bool:
        """Appeal outcomes can be recorded also after the case has closed."""
        return self.may_act_as_caseworker(order)

    def may_issue(self) -> bool:
        return bool(self.caseworker_for)

    # --- measures ------------------------------------------------------------------------------

    def may_manage_measure(self, order, measure) -> bool:
        """Enrol, record attendance, arrange supervision: the municipality, on an open case."""
        return not is_closed(order) and self.may_act_for_municipality_on(order)

    def may_invite_supervisor(self, order, measure) -> bool:
        """The municipality brings in the supervisor it named: it may send (or withdraw) an
        invitation to the login made for them, while that login has never been used and gives
        nothing but the supervision (no appointment: an invitation to an address the leader
        chooses must not open anyone else's access)."""
        login = measure.supervisor.user if measure.supervisor_id else None
        return (
            login is not None
            and self.may_manage_measure(order, measure)
            and not has_logged_in(login)
            and not Appointment.objects.filter(user=login, ended_at__isnull=True).exists()
        )

    def may_accept_terms(self, order, measure) -> bool:
        return not is_closed(order) and measure.is_course and self.is_concerned(order)

    def is_supervisor_of(self, measure) -> bool:
        """The measure's named supervisor, while their grant is active."""
        return measure.supervisor_id is not None and measure.pk in self.supervised_measure_ids()

    def may_log_supervision(self, order, measure) -> bool:
        """Sessions and the final report are the supervisor's own record."""
        return not is_closed(order) and self.is_supervisor_of(measure)

    def may_add_measure_document(self, order, measure) -> bool:
        return self.may_manage_measure(order, measure) or self.may_log_supervision(order, measure)

    def may_act_on_measure(self, who: Who, order, measure) -> bool:
        """The answer to a measure action's who-token (courses.actions.Who) for this user."""
        return MEASURE_RULES[who](self, order, measure)

    def supervised_measures_of(self, order) -> QuerySet[Measure]:
        """The measures of ``order`` that the user supervises under an active grant."""
        return Measure.objects.filter(order_id=order.pk, pk__in=self.supervised_measure_ids(order))

    @property
    def supervises_now(self) -> bool:
        return bool(self.supervision)

    # --- lists, as filters on the ids held here ------------------------------------------------

    def _concerned_q(self, prefix="") -> Q:
        return Q(**{f"{prefix}health_personnel_id__in": self.personnel_ids})

    # The filters of ACTOR_FILTERS: the orders on which the user takes an actor's steps, or
    # None when they are no such actor at all (so a list leaves that actor out altogether).

    def _personnel_q(self, prefix="") -> Q | None:
        """Orders about the user themself."""
        return self._concerned_q(prefix) if self.personnel_ids else None

    def _caseworker_q(self, prefix="") -> Q | None:
        """Orders the user acts on as caseworker: never one that concerns themself."""
        granted = self._granted_order_ids(ACT_AS_CASEWORKER)
        if not (self.caseworker_authority_ids or granted):
            return None
        return (
            Q(**{f"{prefix}issuing_authority_id__in": self.caseworker_authority_ids})
            | Q(**{f"{prefix}pk__in": granted})
        ) & ~self._concerned_q(prefix)

    def _leader_q(self, prefix="") -> Q | None:
        """Orders the user acts on for the municipality: never one that concerns themself."""
        if not self.led_municipality_ids:
            return None
        return Q(**{f"{prefix}municipality_id__in": self.led_municipality_ids}) & ~(
            self._concerned_q(prefix)
        )

    def full_case_q(self, prefix="") -> Q | None:
        """The filter on orders the user may see in full (may_see_full_case); None for
        Helsetilsynet's caseworkers, who see every case."""
        if self.national_caseworker:
            return None
        return (
            Q(**{f"{prefix}issuing_authority_id__in": self.caseworker_authority_ids})
            | Q(**{f"{prefix}municipality_id__in": self.covered_municipality_ids})
            | Q(**{f"{prefix}municipality_id__in": self.led_municipality_ids})
            | self._concerned_q(prefix)
            | Q(**{f"{prefix}pk__in": self._granted_order_ids()})
        )

    def visible_orders_q(self, prefix="") -> Q | None:
        """The filter on orders the user may see: the whole case (full_case_q), and the cases
        of measures they supervise under an active grant, in part (may_see_full_case). Seeing
        is not acting: steps stay with the issuing authority (may_take_step). None: all."""
        full = self.full_case_q(prefix)
        if full is None:
            return None
        return full | Q(**{f"{prefix}pk__in": self.supervised_order_ids()})

    def orders_visible(self) -> QuerySet[Order]:
        if not self.active:
            return Order.objects.none()
        visible = self.visible_orders_q()
        return Order.objects.all() if visible is None else Order.objects.filter(visible)

    def actionable_branches(self) -> list[tuple[list[str], QuerySet[NextDeadline]]]:
        """Where the user's actionable tasks are, per actor of orders.steps they act as: the
        refs of that actor's steps, and the open orders its rule (ACTOR_FILTERS) lets them act
        on, as those orders' next deadlines. The rule asks the order's own columns, which its
        next deadline carries under the same names (models.NextDeadline) with whether it is
        open, so the orders are read from that table's indexes alone. Actors the user is not
        are left out. A task belongs to one step, so to one branch at most."""
        if not self.active:
            return []
        branches = []
        for actor, orders_q in ACTOR_FILTERS.items():
            acted_on = orders_q(self, "")
            if acted_on is not None:
                refs = [step.task_ref for step in steps.STEPS.values() if step.actor == actor]
                branches.append((refs, NextDeadline.objects.filter(acted_on, is_open=True)))
        return branches

    def actionable_tasks(self) -> QuerySet[Task]:
        """Open workflow tasks on orders that the user may carry out (actionable_branches)."""
        branches = Q()
        for refs, open_orders in self.actionable_branches():
            branches |= Q(flow_task__in=refs, process_id__in=open_orders.values("order_id"))
        if not branches:
            return Task.objects.none()
        return Task.objects.filter(branches, flow_task_type="HUMAN", status__in=OPEN_TASK_STATUSES)

    def orders_concerning(self) -> QuerySet[Order]:
        """The orders about the user themself (is_concerned), which they always see."""
        if not self.active or not self.personnel_ids:
            return Order.objects.none()
        return Order.objects.filter(self._concerned_q())

    def case_ids_concerning(self) -> QuerySet:
        """The ids, as the access log stores them (text), of the orders about the user
        themself (is_concerned): a subquery, so a filter on it stays one query."""
        orders = Order.objects.filter(self._concerned_q())
        return orders.annotate(case_id=Cast("pk", CharField())).values("case_id")

    @property
    def owns_measures(self) -> bool:
        """ "Mine kurs og veiledning" is theirs: a supervisor with an active grant, or health
        personnel (with orders about them: web.context_processors asks)."""
        return bool(self.supervision or self.personnel)

    # --- the access log ------------------------------------------------------------------------

    def capacity_on(self, order) -> Capacity:
        """The capacity in which the user sees ``order``, for the access log and for "who has
        seen my case". The case's issuing authority oversees every event on it."""
        authority_id = order.issuing_authority_id
        if self.is_concerned(order):
            return Capacity(Role.PERSONNEL, "", authority_id)
        issuing = [a for a in self.caseworker_for if a.pk == authority_id]
        if issuing:
            return Capacity(Role.CASEWORKER, issuing[0].name, authority_id)
        led = [m for m in self.leads if m.pk == order.municipality_id]
        if led:
            return Capacity(Role.LEADER, led[0].name, authority_id)
        # The authority through which the case is seen: the one covering its municipality
        # first, then Helsetilsynet, then any (a stand-in granted this one order).
        if self.caseworker_for:
            covering = sorted(
                self.caseworker_for,
                key=lambda a: (
                    0 if a.pk == order.municipality.authority_id else 1 if a.national else 2,
                    a.pk,
                ),
            )
            return Capacity(Role.CASEWORKER, covering[0].name, authority_id)
        supervised = [m for m in self.supervises if m.order_id == order.pk]
        return self._supervisor_capacity(supervised, authority_id) or Capacity(
            Role.NONE, "", authority_id
        )

    @staticmethod
    def _supervisor_capacity(supervised, authority_id) -> Capacity | None:
        """A supervisor of one of ``supervised`` acts as such, for their GP office."""
        if not supervised:
            return None
        return Capacity(Role.SUPERVISOR, supervised[0].office, authority_id)

    def capacity_outside(self, probed=None) -> Capacity:
        """The capacity of someone acting outside any case they may see (a search, a refused
        look at a case): what they are in general (capacity), and a supervisor as such rather
        than as health personnel. The event is overseen by the probed case's authority, when
        there is one."""
        capacity = self.capacity()
        if capacity.role in (Role.HEALTH_PERSONNEL, Role.NONE):
            capacity = self._supervisor_capacity(self.supervises, capacity.authority_id) or (
                capacity
            )
        if probed is not None:
            capacity = Capacity(capacity.role, capacity.organisation, probed.issuing_authority_id)
        return capacity


# Who may take a step, for each actor of orders.steps: the rule for one order, and the same
# rule as a filter on orders (prefix: the path from the filtered model to the order).
ACTOR_RULES = {
    steps.Actor.MUNICIPALITY: Capabilities.may_act_for_municipality_on,
    steps.Actor.PERSONNEL: Capabilities.is_concerned,
    steps.Actor.AUTHORITY: Capabilities.may_act_as_caseworker,
}
ACTOR_FILTERS = {
    steps.Actor.MUNICIPALITY: Capabilities._leader_q,
    steps.Actor.PERSONNEL: Capabilities._personnel_q,
    steps.Actor.AUTHORITY: Capabilities._caseworker_q,
}


# Each who-token of the measure's action table (courses.actions) is one of the checks above;
# a token without a check here fails the drift test (tests/courses/test_measure_actions.py).
MEASURE_RULES = {
    Who.MUNICIPALITY: Capabilities.may_manage_measure,
    Who.CONCERNED: Capabilities.may_accept_terms,
    Who.SUPERVISOR: Capabilities.may_log_supervision,
    Who.MUNICIPALITY_OR_SUPERVISOR: Capabilities.may_add_measure_document,
}


def supervision_stays_open(order, measure) -> bool:
    """Whether the supervisor of ``measure`` keeps access: the case is open, the measure is not
    closed by the municipality's confirmation and the supervision is not complete (the agreed
    sessions held and the final report given). orders.services keeps the grants to this."""
    return (
        measure.supervisor_id is not None
        and not is_closed(order)
        and measure.status == Measure.Status.PLANNED
        and not measure.is_complete
    )


def stand_ins_of(order) -> QuerySet[User]:
    """Who holds this single order as stand-in caseworker, directly or through a group (they
    may take its caseworker steps, may_act_as_caseworker, and so are told when one opens)."""
    perm = codename(ACT_AS_CASEWORKER)
    direct = OrderUserObjectPermission.objects.filter(
        content_object=order, permission__codename=perm
    )
    via_group = OrderGroupObjectPermission.objects.filter(
        content_object=order, permission__codename=perm
    )
    return User.objects.filter(
        Q(pk__in=direct.values("user_id")) | Q(groups__in=via_group.values("group_id"))
    ).distinct()


def appointment_conflict(*, user, role, organisation) -> str:
    """Why ``user`` may not be appointed ``role`` for ``organisation``, or "": the subject of
    one of an authority's open orders is not made its caseworker. Capabilities.is_concerned
    keeps them off their own case anyway; refusing the appointment says so to the
    administrator (registered with municipalities.appointments in OrdersConfig.ready). The
    administrator works for the same authority, so naming "an open case of this authority"
    tells no more than they may know; the case number is not shown."""
    if role != Appointment.Role.CASEWORKER or not isinstance(organisation, Authority):
        return ""
    open_own = Order.objects.filter(
        health_personnel__user=user, issuing_authority=organisation, status=PROCESS.NEW
    )
    if not open_own.exists():
        return ""
    return _(
        "%(user)s is the health personnel an open case of this authority concerns, and cannot "
        "be appointed its caseworker."
    ) % {"user": user.get_full_name() or user.get_username()}
