"""Block bulk writes on models with change history: simple-history records a row per save()
signal, and QuerySet.update()/delete()/bulk_* send none, so they would change data silently."""

from django.db import models


class BypassesHistory(Exception):
    pass


class HistoryPreservingMixin:
    def _refuse(self, *args, **kwargs):
        raise BypassesHistory(
            f"{self.model.__name__}: save or delete rows one by one so history records it."
        )

    update = delete = bulk_create = bulk_update = _refuse


class HistoryPreservingQuerySet(HistoryPreservingMixin, models.QuerySet):
    pass
