"""The one place that answers "may this user see this order, and which steps may they take".

Every view, list, count and task queue asks here. Grants are django-guardian permissions on
an Authority, a Municipality or a single Order (direct foreign-key tables), turned into one
SQL filter for lists and checked with ``user.has_perm`` for a single object. Anything the
user may not see is reported as "does not exist" (404) by the callers.
"""

from django.db.models import Case, Exists, Q, QuerySet, Value, When
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from audit import Capacity
from audit.models import Role
from courses.models import Measure
from municipalities.access import capacity_of, caseworker_authorities, codename, granted_q
from municipalities.models import ACT_FOR_AUTHORITY, ACT_FOR_MUNICIPALITY, Authority, Municipality

from .flows import AUTHORITY_STEPS, MUNICIPAL_STEPS, PERSONNEL_STEPS, OrderFlow
from .models import (
    ACT_AS_CASEWORKER,
    Order,
    OrderGroupObjectPermission,
    OrderUserObjectPermission,
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
    return _authority_q(user, f"{prefix}issuing_authority") | _order_grant_q(
        user, f"{prefix}pk", ACT_AS_CASEWORKER
    )


def visible_orders_q(user, prefix="") -> Q:
    """The filter on orders the user may see: those their authority issued or that concern a
    municipality it covers (Helsetilsynet: every municipality), their municipality's, their
    own (as the health personnel concerned), and single orders granted to them. Seeing is not
    acting: steps stay with the issuing authority (may_take_step)."""
    caseworker_of = caseworker_authorities(user)
    national = Exists(caseworker_of.filter(kind=Authority.Kind.HELSETILSYNET))
    return (
        _authority_q(user, f"{prefix}issuing_authority")
        | Q(**{f"{prefix}municipality__authority__in": caseworker_of.values("pk")})
        | Q(national)
        | _municipality_q(user, f"{prefix}municipality")
        | Q(**{f"{prefix}health_personnel__user": user})
        | _order_grant_q(user, f"{prefix}pk")
    )


def orders_visible_to(user) -> QuerySet[Order]:
    if not user.is_authenticated or not user.is_active:
        return Order.objects.none()
    return Order.objects.filter(visible_orders_q(user))


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
    steps = OrderFlow.instance
    refs = {name: get_task_ref(getattr(steps, name)) for name in _all_steps()}
    by_role = (
        Q(flow_task__in=[refs[s] for s in MUNICIPAL_STEPS])
        & _municipality_q(user, f"{order}municipality")
        | Q(
            flow_task__in=[refs[s] for s in PERSONNEL_STEPS],
            **{f"{order}health_personnel__user": user},
        )
        | Q(flow_task__in=[refs[s] for s in AUTHORITY_STEPS]) & _caseworker_q(user, order)
    )
    return Task.objects.filter(
        by_role,
        flow_task_type="HUMAN",
        status__in=OPEN_TASK_STATUSES,
        process__status=PROCESS.NEW,
        process__flow_class=OrderFlow,
    )


def _all_steps():
    return MUNICIPAL_STEPS + PERSONNEL_STEPS + AUTHORITY_STEPS


def step_name(task) -> str:
    return task.flow_task.name


def acts_for_municipality(user, municipality) -> bool:
    return user.is_authenticated and user.has_perm(ACT_FOR_MUNICIPALITY, municipality)


def acts_for_authority(user, authority) -> bool:
    return user.is_authenticated and user.has_perm(ACT_FOR_AUTHORITY, authority)


def is_concerned_person(user, order) -> bool:
    return user.is_authenticated and order.health_personnel.user_id == user.pk


def may_act_as_caseworker(user, order) -> bool:
    """Issuing authority's caseworkers, and anyone granted this single order as stand-in."""
    return acts_for_authority(user, order.issuing_authority) or (
        user.is_authenticated and user.has_perm(ACT_AS_CASEWORKER, order)
    )


def may_see_access_events(user, order) -> bool:
    """Who opened the case is for the authority: the issuing authority's caseworkers and
    stand-ins, and caseworkers of an authority covering the case (the statsforvalter of its
    municipality, Helsetilsynet). Leaders and supervisors do not see it; the health personnel
    concerned sees the reads of their own case on its own page (innsyn)."""
    if not user.is_authenticated or not user.is_active:
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
    name = step_name(task)
    if name in MUNICIPAL_STEPS:
        return acts_for_municipality(user, order.municipality)
    if name in PERSONNEL_STEPS:
        return is_concerned_person(user, order)
    if name in AUTHORITY_STEPS:
        return may_act_as_caseworker(user, order)
    return False


def may_manage_measure(user, order, measure) -> bool:
    """Enrol, record attendance, arrange supervision: the municipality, on an open case."""
    return not is_closed(order) and acts_for_municipality(user, order.municipality)


def may_accept_terms(user, order, measure) -> bool:
    return not is_closed(order) and measure.is_course and is_concerned_person(user, order)


def is_supervisor_of(user, measure) -> bool:
    return (
        user.is_authenticated
        and measure.supervisor_id is not None
        and measure.supervisor.user_id == user.pk
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
    supervised = Measure.objects.filter(order=order, supervisor__user=user).select_related(
        "supervisor__gp_office"
    )
    for measure in supervised[:1]:
        office = measure.supervisor.gp_office
        return Capacity(Role.SUPERVISOR, office.name if office else "", authority_id)
    return Capacity(Role.NONE, "", authority_id)


def capacity_outside(user, probed=None) -> Capacity:
    """The capacity of someone acting outside any case they may see (a search, a refused look
    at a case): what they are in general (municipalities.access.capacity_of), and a supervisor
    as such rather than as health personnel — supervision is a measure, which that module
    cannot see. The event is overseen by the probed case's authority, when there is one."""
    capacity = capacity_of(user)
    if capacity.role in (Role.HEALTH_PERSONNEL, Role.NONE):
        measure = (
            Measure.objects.filter(supervisor__user=user)
            .select_related("supervisor__gp_office")
            .order_by("pk")
            .first()
        )
        if measure is not None:
            office = measure.supervisor.gp_office
            capacity = Capacity(
                Role.SUPERVISOR, office.name if office else "", capacity.authority_id
            )
    if probed is not None:
        capacity = Capacity(capacity.role, capacity.organisation, probed.issuing_authority_id)
    return capacity
