"""The one place that answers "may this user see this order, and which steps may they take".

Every view, list, count and task queue asks here. Grants are django-guardian permissions on
an Authority, a Municipality or a single Order (direct foreign-key tables), turned into one
SQL filter for lists and checked with ``user.has_perm`` for a single object. Anything the
user may not see is reported as "does not exist" (404) by the callers.

A supervisor's access is not a guardian permission: it is an active ``SupervisionGrant`` row
(recorded, with a reason and an end), and it shows only what supervision needs: who the order
concerns, what it requires, the deadline, and the supervisor's own measure with its documents
(``may_see_full_case``, ``supervised_measures_of``).
"""

from django.db.models import Case, CharField, Exists, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from audit import Capacity
from audit.models import Role
from courses.models import Measure
from municipalities.access import (
    capacity_of,
    caseworker_authorities,
    codename,
    granted_q,
    has_logged_in,
)
from municipalities.models import (
    ACT_FOR_AUTHORITY,
    ACT_FOR_MUNICIPALITY,
    Appointment,
    Authority,
    Municipality,
    User,
)

from . import steps
from .models import (
    ACT_AS_CASEWORKER,
    Order,
    OrderGroupObjectPermission,
    OrderUserObjectPermission,
    SupervisionGrant,
)

OPEN_TASK_STATUSES = (STATUS.NEW, STATUS.ASSIGNED)


def _authority_q(user, prefix="issuing_authority") -> Q:
    return granted_q(user, ACT_FOR_AUTHORITY, prefix)


def _municipality_q(user, prefix="municipality") -> Q:
    return granted_q(user, ACT_FOR_MUNICIPALITY, prefix)


def _order_grant_q(user, prefix="pk", perm=None) -> Q:
    direct = OrderUserObjectPermission.objects.filter(user=user)
    via_group = OrderGroupObjectPermission.objects.filter(group__user=user)
    if perm is not None:
        direct = direct.filter(permission__codename=codename(perm))
        via_group = via_group.filter(permission__codename=codename(perm))
    return Q(**{f"{prefix}__in": direct.values("content_object_id")}) | Q(
        **{f"{prefix}__in": via_group.values("content_object_id")}
    )


def _caseworker_q(user, prefix="") -> Q:
    """Orders the user acts on as caseworker: never one that concerns themself."""
    return (
        _authority_q(user, f"{prefix}issuing_authority")
        | _order_grant_q(user, f"{prefix}pk", ACT_AS_CASEWORKER)
    ) & ~_concerned_q(user, prefix)


def _leader_q(user, prefix="") -> Q:
    """Orders the user acts on for the municipality: never one that concerns themself."""
    return _municipality_q(user, f"{prefix}municipality") & ~_concerned_q(user, prefix)


def _concerned_q(user, prefix="") -> Q:
    """The SQL form of is_concerned_person."""
    return Q(**{f"{prefix}health_personnel__user": user})


def active_supervision_grants(user) -> QuerySet[SupervisionGrant]:
    """The user's supervision grants that have not ended: the only source of a supervisor's
    access (orders.services opens and ends them)."""
    if not user.is_authenticated or not user.is_active:
        return SupervisionGrant.objects.none()
    return SupervisionGrant.objects.filter(user=user, ended_at__isnull=True)


def _supervision_q(user, prefix="") -> Q:
    return Q(**{f"{prefix}pk__in": active_supervision_grants(user).values("order_id")})


def visible_orders_q(user, prefix="") -> Q:
    """The filter on orders the user may see: the whole case (full_case_q), and the cases of
    measures they supervise under an active grant, in part (may_see_full_case). Seeing is not
    acting: steps stay with the issuing authority (may_take_step)."""
    return full_case_q(user, prefix) | _supervision_q(user, prefix)


def full_case_q(user, prefix="") -> Q:
    """Orders the user may see in full: those their authority issued or that concern a
    municipality it covers (Helsetilsynet: every municipality), their municipality's, their
    own (as the health personnel concerned), and single orders granted to them."""
    caseworker_of = caseworker_authorities(user)
    national = Exists(caseworker_of.filter(kind=Authority.Kind.HELSETILSYNET))
    return (
        _authority_q(user, f"{prefix}issuing_authority")
        | Q(**{f"{prefix}municipality__authority__in": caseworker_of.values("pk")})
        | Q(national)
        | _municipality_q(user, f"{prefix}municipality")
        | _concerned_q(user, prefix)
        | _order_grant_q(user, f"{prefix}pk")
    )


def orders_visible_to(user) -> QuerySet[Order]:
    if not user.is_authenticated or not user.is_active:
        return Order.objects.none()
    return Order.objects.filter(visible_orders_q(user))


def case_ids_concerning(user) -> QuerySet:
    """The ids, as the access log stores them (text), of the orders about the user themself
    (is_concerned_person): a subquery, so a filter on it stays one query."""
    if not user.is_authenticated:
        return Order.objects.none().values("pk")
    orders = Order.objects.filter(_concerned_q(user))
    return orders.annotate(case_id=Cast("pk", CharField())).values("case_id")


def may_see_full_case(user, order) -> bool:
    """Whether ``user`` sees all of ``order`` (grounds, decisions, appeals, every measure and
    document, the timeline), or, as a supervisor only, what supervision needs."""
    if not user.is_authenticated or not user.is_active:
        return False
    return Order.objects.filter(full_case_q(user), pk=order.pk).exists()


def supervised_measures_of(user, order) -> QuerySet[Measure]:
    """The measures of ``order`` that ``user`` supervises under an active grant."""
    grants = active_supervision_grants(user).filter(order_id=order.pk)
    return Measure.objects.filter(order_id=order.pk, pk__in=grants.values("measure_id"))


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


def authorities_for(user) -> QuerySet[Authority]:
    """Authorities the user acts for as caseworker."""
    return caseworker_authorities(user)


def municipalities_for(user) -> QuerySet[Municipality]:
    if not user.is_authenticated:
        return Municipality.objects.none()
    return Municipality.objects.filter(_municipality_q(user, "pk"))


def actionable_tasks_for(user) -> QuerySet[Task]:
    """Open workflow tasks on orders that this user may carry out."""
    if not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    order = "process__order__"
    by_role = Q()
    for actor, orders_q in ACTOR_FILTERS.items():
        refs = [step.task_ref for step in steps.STEPS.values() if step.actor == actor]
        by_role |= Q(flow_task__in=refs) & orders_q(user, order)
    return Task.objects.filter(
        by_role,
        flow_task_type="HUMAN",
        status__in=OPEN_TASK_STATUSES,
        process__status=PROCESS.NEW,
        process__flow_class=steps.FLOW_REF,
    )


def step_name(task) -> str:
    return task.flow_task.name


def acts_for_municipality(user, municipality) -> bool:
    return user.is_authenticated and user.has_perm(ACT_FOR_MUNICIPALITY, municipality)


def acts_for_authority(user, authority) -> bool:
    return user.is_authenticated and user.has_perm(ACT_FOR_AUTHORITY, authority)


def is_concerned_person(user, order) -> bool:
    """The health personnel the order is about.

    Separation of duties: they keep their own rights on it (acknowledge the plan, accept the
    course terms, see the case and who has read it) but never act on it for the authority or
    the municipality — no step, no managing the case, no appeal decision, no access log —
    whatever they are appointed to (a caseworker, leader or stand-in grant may predate the
    order, or be made behind the appointment pages' back). Every caseworker and leader check
    below, and their SQL filters, go through this."""
    return user.is_authenticated and order.concerns(user)


def may_act_as_caseworker(user, order) -> bool:
    """Issuing authority's caseworkers, and anyone granted this single order as stand-in;
    never the person it concerns."""
    if is_concerned_person(user, order):
        return False
    return acts_for_authority(user, order.issuing_authority) or (
        user.is_authenticated and user.has_perm(ACT_AS_CASEWORKER, order)
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


def may_act_for_municipality_on(user, order) -> bool:
    """The municipality's leaders, on its order; never the person it concerns."""
    return not is_concerned_person(user, order) and acts_for_municipality(user, order.municipality)


# Who may take a step, for each actor of orders.steps: the rule for one order, and the same
# rule as a filter on orders (prefix: the path from the filtered model to the order).
ACTOR_RULES = {
    steps.Actor.MUNICIPALITY: may_act_for_municipality_on,
    steps.Actor.PERSONNEL: is_concerned_person,
    steps.Actor.AUTHORITY: may_act_as_caseworker,
}
ACTOR_FILTERS = {
    steps.Actor.MUNICIPALITY: _leader_q,
    steps.Actor.PERSONNEL: _concerned_q,
    steps.Actor.AUTHORITY: _caseworker_q,
}


def appointment_conflict(*, user, role, organisation) -> str:
    """Why ``user`` may not be appointed ``role`` for ``organisation``, or "": the subject of
    one of an authority's open orders is not made its caseworker. is_concerned_person keeps
    them off their own case anyway; refusing the appointment says so to the administrator
    (registered with municipalities.appointments in OrdersConfig.ready). The administrator
    works for the same authority, so naming "an open case of this authority" tells no more
    than they may know; the case number is not shown."""
    if role != Appointment.Role.CASEWORKER or not isinstance(organisation, Authority):
        return ""
    open_own = Order.objects.filter(
        _concerned_q(user), issuing_authority=organisation, status=PROCESS.NEW
    )
    if not open_own.exists():
        return ""
    return _(
        "%(user)s is the health personnel an open case of this authority concerns, and cannot "
        "be appointed its caseworker."
    ) % {"user": user.get_full_name() or user.get_username()}


def may_see_access_events(user, order) -> bool:
    """Who opened the case is for the authority: the issuing authority's caseworkers and
    stand-ins, and caseworkers of an authority covering the case (the statsforvalter of its
    municipality, Helsetilsynet). Leaders and supervisors do not see it; the health personnel
    concerned — whatever they are appointed to — sees only the reads of their own case, on its
    own page (innsyn), never the authority's log of it."""
    if not user.is_authenticated or not user.is_active or is_concerned_person(user, order):
        return False
    if may_act_as_caseworker(user, order):
        return True
    return (
        caseworker_authorities(user)
        .filter(Q(pk=order.municipality.authority_id) | Q(kind=Authority.Kind.HELSETILSYNET))
        .exists()
    )


def may_take_step(user, order, task) -> bool:
    """May ``user`` carry out ``task`` (an open step of ``order``) now?"""
    if task.status not in OPEN_TASK_STATUSES or is_closed(order):
        return False
    step = steps.of(task)
    return step is not None and ACTOR_RULES[step.actor](user, order)


def may_manage_measure(user, order, measure) -> bool:
    """Enrol, record attendance, arrange supervision: the municipality, on an open case."""
    return not is_closed(order) and may_act_for_municipality_on(user, order)


def may_invite_supervisor(user, order, measure) -> bool:
    """The municipality brings in the supervisor it named: it may send (or withdraw) an
    invitation to the login made for them, while that login has never been used and gives
    nothing but the supervision (no appointment: an invitation to an address the leader
    chooses must not open anyone else's access)."""
    login = measure.supervisor.user if measure.supervisor_id else None
    return (
        login is not None
        and may_manage_measure(user, order, measure)
        and not has_logged_in(login)
        and not Appointment.objects.filter(user=login, ended_at__isnull=True).exists()
    )


def may_accept_terms(user, order, measure) -> bool:
    return not is_closed(order) and measure.is_course and is_concerned_person(user, order)


def is_supervisor_of(user, measure) -> bool:
    """The measure's named supervisor, while their grant is active."""
    return (
        user.is_authenticated
        and measure.supervisor_id is not None
        and active_supervision_grants(user).filter(measure_id=measure.pk).exists()
    )


def may_log_supervision(user, order, measure) -> bool:
    """Sessions and the final report are the supervisor's own record."""
    return not is_closed(order) and is_supervisor_of(user, measure)


def may_add_measure_document(user, order, measure) -> bool:
    return may_manage_measure(user, order, measure) or may_log_supervision(user, order, measure)


def may_manage_case(user, order) -> bool:
    """Extend the deadline, withdraw, register appeals: the issuing side, on an open case."""
    return not is_closed(order) and may_act_as_caseworker(user, order)


def may_decide_appeal(user, order) -> bool:
    """Appeal outcomes can be recorded also after the case has closed."""
    return may_act_as_caseworker(user, order)


def may_issue(user) -> bool:
    return authorities_for(user).exists()


def is_closed(order) -> bool:
    """Withdrawn and fulfilled cases are closed and read-only."""
    return order.status in (PROCESS.DONE, PROCESS.CANCELED)


def capacity_on(user, order) -> Capacity:
    """The capacity in which ``user`` sees ``order``, for the access log and for "who has seen
    my case". The case's issuing authority oversees every event on it."""
    authority_id = order.issuing_authority_id
    if is_concerned_person(user, order):
        return Capacity(Role.PERSONNEL, "", authority_id)
    if acts_for_authority(user, order.issuing_authority):
        return Capacity(Role.CASEWORKER, order.issuing_authority.name, authority_id)
    if acts_for_municipality(user, order.municipality):
        return Capacity(Role.LEADER, order.municipality.name, authority_id)
    # The authority through which the case is seen: the one covering its municipality first,
    # then Helsetilsynet, then any (a stand-in granted this one order).
    covering = (
        caseworker_authorities(user)
        .annotate(
            reach=Case(
                When(pk=order.municipality.authority_id, then=Value(0)),
                When(kind=Authority.Kind.HELSETILSYNET, then=Value(1)),
                default=Value(2),
            )
        )
        .order_by("reach", "pk")
        .first()
    )
    if covering is not None:
        # Helsetilsynet, the statsforvalter that covers the municipality, or a stand-in.
        return Capacity(Role.CASEWORKER, covering.name, authority_id)
    supervisor = _supervisor_capacity(Measure.objects.filter(order=order), user, authority_id)
    return supervisor or Capacity(Role.NONE, "", authority_id)


def _supervisor_capacity(measures, user, authority_id) -> Capacity | None:
    """A supervisor of one of ``measures`` acts as such, for their GP office."""
    measure = (
        measures.filter(supervisor__user=user)
        .select_related("supervisor__gp_office")
        .order_by("pk")
        .first()
    )
    if measure is None:
        return None
    office = measure.supervisor.gp_office
    return Capacity(Role.SUPERVISOR, office.name if office else "", authority_id)


def capacity_outside(user, probed=None) -> Capacity:
    """The capacity of someone acting outside any case they may see (a search, a refused look
    at a case): what they are in general (municipalities.access.capacity_of), and a supervisor
    as such rather than as health personnel — supervision is a measure, which that module
    cannot see. The event is overseen by the probed case's authority, when there is one."""
    capacity = capacity_of(user)
    if capacity.role in (Role.HEALTH_PERSONNEL, Role.NONE):
        capacity = (
            _supervisor_capacity(Measure.objects.all(), user, capacity.authority_id) or capacity
        )
    if probed is not None:
        capacity = Capacity(capacity.role, capacity.organisation, probed.issuing_authority_id)
    return capacity
