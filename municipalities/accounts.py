"""Writes to a person's own account: the password they choose. A service like the others, with
the acting user, so that the pages' forms only validate and the one rule is stated once:
nobody sets another person's password (an operator sends a reset link instead)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from .models import User


def set_own_password(*, user: User, raw_password: str, acting_user: User | None) -> User:
    """Set ``user``'s password (already checked by Django's password validators in the form)
    and return the saved account. ``user`` is updated in place too: the caller may log it in,
    and the session's hash must be of the new password."""
    if acting_user is None or acting_user.pk != user.pk:
        raise PermissionDenied
    with transaction.atomic():
        account = User.objects.select_for_update().get(pk=user.pk)
        account.set_password(raw_password)
        # Only the password: the caller's copy may be older than the row in other fields.
        account.save(update_fields=["password"])
    user.password = account.password
    return account
