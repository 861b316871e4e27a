"""Who is acting right now, so change history names a person also outside a web request
(services called from commands, the demo loader, tests)."""

from contextlib import contextmanager
from contextvars import ContextVar

import pgtrigger
from simple_history.models import HistoricalRecords

_acting_user: ContextVar = ContextVar("acting_user", default=None)


@contextmanager
def acting_as(user):
    """Attribute every history row written inside the block to ``user``."""
    token = _acting_user.set(user)
    try:
        yield
    finally:
        _acting_user.reset(token)


def _history_user(instance=None, request=None, **kwargs):
    user = _acting_user.get()
    if user is not None:
        return user
    if request is not None and request.user.is_authenticated:
        return request.user
    return None


class AppendOnlyHistoricalRecords(HistoricalRecords):
    """History rows are written once and never changed or removed: on PostgreSQL a trigger on
    every history table refuses UPDATE and DELETE (so deleting a user who appears in history
    fails too; people are deactivated, not deleted)."""

    def get_meta_options(self, model):
        options = super().get_meta_options(model)
        options["triggers"] = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]
        return options


def history_records(**kwargs) -> HistoricalRecords:
    """simple-history for a domain model, recording the acting user."""
    return AppendOnlyHistoricalRecords(get_user=_history_user, **kwargs)
