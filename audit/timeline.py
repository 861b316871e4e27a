"""Assembles a case timeline from simple-history rows: who did what, when, and which fields
changed (old → new). Generic over historical models so audit imports no other app."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Change:
    label: str
    old: Any
    new: Any


@dataclass
class Entry:
    when: datetime
    who: Any
    kind: str
    title: str
    text: str = ""
    changes: list[Change] = field(default_factory=list)


def _display(model_field, value):
    if value is None or value == "":
        return "–"
    if model_field.choices:
        return dict(model_field.flatchoices).get(value, value)
    if isinstance(value, bool):
        from django.utils.translation import gettext

        return gettext("yes") if value else gettext("no")
    return value


def history_entries(history, *, kind, created, changed, fields, text=None) -> list[Entry]:
    """One entry per saved version in ``history`` (a simple-history queryset).

    ``created`` and ``changed`` are titles; ``fields`` names the fields worth diffing;
    ``text`` optionally gives a field whose value is shown with the entry (a reason, a note).
    Saves that changed none of ``fields`` are left out: they are engine bookkeeping.
    """
    rows = history.select_related("history_user").order_by("history_date", "history_id")
    entries, previous = [], {}
    for row in rows:
        model_fields = [row.instance_type._meta.get_field(name) for name in fields]
        before = previous.get(row.id)
        previous[row.id] = row
        body = str(getattr(row, text) or "") if text else (row.history_change_reason or "")
        if row.history_type == "+" or before is None:
            entries.append(Entry(row.history_date, row.history_user, kind, str(created), body))
            continue
        changes = []
        for model_field in model_fields:
            old, new = getattr(before, model_field.attname), getattr(row, model_field.attname)
            if old != new:
                if model_field.is_relation:
                    old, new = "…", "…"
                changes.append(
                    Change(
                        str(model_field.verbose_name),
                        _display(model_field, old),
                        _display(model_field, new),
                    )
                )
        if changes:
            reason = row.history_change_reason or ""
            entries.append(
                Entry(row.history_date, row.history_user, kind, str(changed), reason, changes)
            )
    return entries


def merge(*entry_lists) -> list[Entry]:
    """All entries, newest first."""
    merged = [entry for entries in entry_lists for entry in entries]
    merged.sort(key=lambda entry: entry.when, reverse=True)
    return merged
