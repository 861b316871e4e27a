"""Block bulk writes on models with change history: simple-history records a row per save()
signal, and QuerySet.update()/delete()/bulk_* send none, so they would change data silently.

Code that writes the history rows itself (simple-history's ``bulk_create_with_history`` and
``bulk_update_with_history``) opts in with :func:`history_written_explicitly`.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

_explicit: ContextVar[bool] = ContextVar("history_written_explicitly", default=False)


class BypassesHistory(Exception):
    pass


@contextmanager
def history_written_explicitly():
    """Allow bulk_create/bulk_update inside the block: the caller writes history itself."""
    token = _explicit.set(True)
    try:
        yield
    finally:
        _explicit.reset(token)


class HistoryPreservingMixin:
    def _refuse(self, *args, **kwargs):
        raise BypassesHistory(
            f"{self.model.__name__}: save or delete rows one by one so history records it."
        )

    delete = _refuse

    def update(self, *args, **kwargs):
        # bulk_update goes through update(); both are allowed only when history is written.
        if not _explicit.get():
            self._refuse()
        return super().update(*args, **kwargs)

    def bulk_create(self, *args, **kwargs):
        if not _explicit.get():
            self._refuse()
        return super().bulk_create(*args, **kwargs)

    def bulk_update(self, *args, **kwargs):
        if not _explicit.get():
            self._refuse()
        return super().bulk_update(*args, **kwargs)


class HistoryPreservingQuerySet(HistoryPreservingMixin, models.QuerySet):
    pass
