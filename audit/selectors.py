"""Reading the access log: the queries behind a security officer's search and export.

Pure query building on AccessEvent. Who may see which events is decided by the caller (the
scope comes from municipalities.access.audit_scope); this module only turns it into a filter.
"""

from datetime import datetime, time, timedelta

from django.db.models import Max, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .models import AccessEvent


def scope_q(authority_ids, *, include_unassigned=False) -> Q:
    """Events overseen by ``authority_ids``, plus those that belong to no authority."""
    q = Q(authority_id__in=list(authority_ids))
    if include_unassigned:
        q |= Q(authority_id__isnull=True)
    return q


def events_in_scope(authority_ids, *, include_unassigned=False) -> QuerySet[AccessEvent]:
    return AccessEvent.objects.filter(scope_q(authority_ids, include_unassigned=include_unassigned))


def last_sequence() -> int:
    """The newest event's sequence number, so an export can stop there: the export's own
    event (and anything written while it streams) is not part of what was counted."""
    return AccessEvent.objects.aggregate(last=Max("sequence"))["last"] or 0


def _start_of(day):
    # Whole days in the service's time zone (Europe/Oslo, settings.TIME_ZONE): midnight
    # always exists there, the clocks change at 02:00/03:00.
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def search_events(
    authority_ids,
    *,
    include_unassigned=False,
    user="",
    case_ids=None,
    excluded_case_ids=None,
    date_from=None,
    date_to=None,
    action="",
    up_to=None,
) -> QuerySet[AccessEvent]:
    """Events in the scope matching every given filter, newest first.

    ``user``: part of the username or the full name; ``case_ids``: order ids as stored in
    ``case_id`` (``None`` = any case, an empty list = none); ``excluded_case_ids``: case ids (a list
    or a query of them) whose events are left out whatever else matches; ``date_from``/``date_to``: dates, both
    included; ``up_to``: the last sequence number to include.
    """
    events = events_in_scope(authority_ids, include_unassigned=include_unassigned)
    if excluded_case_ids is not None:
        events = events.exclude(case_id__in=excluded_case_ids)
    if user:
        events = events.annotate(
            user_full_name=Concat("user__first_name", Value(" "), "user__last_name")
        ).filter(Q(user__username__icontains=user) | Q(user_full_name__icontains=user))
    if case_ids is not None:
        events = events.filter(case_id__in=list(case_ids))
    if date_from is not None:
        events = events.filter(at__gte=_start_of(date_from))
    if date_to is not None:
        events = events.filter(at__lt=_start_of(date_to + timedelta(days=1)))
    if action:
        events = events.filter(action=action)
    if up_to is not None:
        events = events.filter(sequence__lte=up_to)
    return events.select_related("user").order_by("-sequence")
