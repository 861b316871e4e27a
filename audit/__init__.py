"""Audit: the access log and the acting user for change history.

Other apps call :func:`record` and :func:`acting_as`; this app imports none of them.
"""


def record(*, request, action, target, outcome="shown", case=None):
    """Write one access event. Raises if it cannot be written, so the caller shows nothing."""
    from .models import AccessEvent

    user = request.user if request.user.is_authenticated else None
    if isinstance(target, str):
        # A target that could not be looked up (refused or missing): "kind:identifier".
        target_type, _, target_id = target.partition(":")
    else:
        target_type, target_id = target._meta.label_lower, str(target.pk)
    return AccessEvent.objects.create(
        user=user,
        action=action,
        target_type=target_type,
        target_id=target_id[:50],
        case_id=str(case.pk) if case is not None else "",
        outcome=outcome,
        ip_address=request.META.get("REMOTE_ADDR") or None,
    )


def acting_as(user):
    from .actor import acting_as as _acting_as

    return _acting_as(user)
