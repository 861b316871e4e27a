"""Audit: the access log and the acting user for change history.

Other apps call :func:`record` and :func:`acting_as`; this app imports none of them. Who acted
in which capacity is theirs to say: they pass a :class:`Capacity`.
"""

import logging
from dataclasses import dataclass

from .actions import Action

__all__ = ["OPERATIONS", "Action", "AuditWriteFailed", "Capacity", "acting_as", "record"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capacity:
    """The role someone acted in, the organisation's name, and the authority that oversees it."""

    role: str = ""
    organisation: str = ""
    authority_id: int | None = None


# An operator (a Django superuser, in the operators' admin site): no role in any case and no
# authority of their own, so their events belong to no authority and Statens helsetilsyn's
# security officer (who sees those) oversees them. The organisation is stored as written, like
# every other: "Drift", the operations of the service.
OPERATIONS = Capacity(role="", organisation="Drift")


class AuditWriteFailed(Exception):
    """The access event could not be stored, so the data must not be shown."""


def record(
    *,
    request=None,
    user=None,
    action,
    target,
    outcome="shown",
    case=None,
    capacity=None,
    detail="",
):
    """Write one access event as the next link of the chain. ``action`` is an
    :class:`Action`.

    Raises :class:`AuditWriteFailed` if it cannot be written: the caller must not show the
    data (the middleware answers 503).
    """
    from django.db import DatabaseError

    from . import chain

    if not isinstance(action, Action):
        # A programming error, not a failure to log: every action is a member of the
        # vocabulary (a string that happens to match one is not), so the log can always say in
        # words what someone did and a rename cannot leave a caller behind.
        raise ValueError(
            f"Access-log action {action!r} is not an audit.actions.Action member: name it from "
            "the vocabulary (and add it there if it is new)."
        )
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if isinstance(target, str):
        # A target that could not be looked up (refused or missing): "kind:identifier".
        target_type, _, target_id = target.partition(":")
    else:
        target_type, target_id = target._meta.label_lower, str(target.pk)
    capacity = capacity or Capacity()
    try:
        event = chain.append(
            user=user,
            role=capacity.role,
            organisation=capacity.organisation[:200],
            authority_id=capacity.authority_id,
            action=action,
            target_type=target_type[:50],
            target_id=target_id[:50],
            case_id=str(case.pk) if case is not None else "",
            outcome=outcome,
            ip_address=(request.META.get("REMOTE_ADDR") or None) if request else None,
            detail=detail[:500],
        )
        if request is not None:
            # The refusal handlers (404/403) log only what no view has logged already.
            request.access_logged = True
        return event
    except DatabaseError as error:
        # The database's error code, not its text: PostgreSQL's names the values of the row
        # it refused ("Failing row contains ..."), which can be a person's.
        cause = error.__cause__
        code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None)
        failure = f"{type(error).__name__} {code or ''}".strip()
        logger.error(
            "Access event %s on %s could not be written (%s)", action, target_type, failure
        )
        raise AuditWriteFailed(action) from error


def acting_as(user):
    from .actor import acting_as as _acting_as

    return _acting_as(user)
