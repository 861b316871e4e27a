"""Assembles a case timeline from simple-history rows (who did what, when, and which fields
changed, old → new) and from access events (who opened what, in which capacity). Generic over
historical models so audit imports no other app; the callers name the sources and titles, as
a list of :class:`HistorySource`, :class:`Source` and :class:`NewestFirstSource` read by
:func:`assemble`."""

from collections.abc import Callable, Sequence
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
    # Access events: the capacity the person acted in, as it was written at the time.
    role: str = ""
    organisation: str = ""
    refused: bool = False


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
    """One entry per saved version in ``history`` (a simple-history queryset, or its rows
    fetched already, oldest first).

    ``created`` and ``changed`` are titles; ``fields`` names the fields worth diffing;
    ``text`` optionally gives a field whose value is shown with the entry (a reason, a note).
    Saves that changed none of ``fields`` are left out: they are engine bookkeeping.
    """
    if hasattr(history, "select_related"):
        rows = history.select_related("history_user").order_by("history_date", "history_id")
    else:  # rows fetched already (with their history_user), oldest first
        rows = history
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


def access_entries(events, *, title_of, text_of=None, kind="access") -> list[Entry]:
    """One entry per access event (events with ``user`` selected), titled by ``title_of(event)``
    and, with ``text_of``, saying what was opened.

    Role and organisation are the ones stored with the event: people change jobs, the log
    must not."""
    return [
        Entry(
            event.at,
            event.user,
            kind,
            str(title_of(event)),
            str(text_of(event)) if text_of else "",
            role=str(event.get_role_display()) if event.role else "",
            organisation=event.organisation,
            refused=event.outcome == event.Outcome.REFUSED,
        )
        for event in events
    ]


def merge(*entry_lists) -> list[Entry]:
    """All entries, newest first (a stable sort: ties keep the order they came in)."""
    merged = [entry for entries in entry_lists for entry in entries]
    merged.sort(key=lambda entry: entry.when, reverse=True)
    return merged


class NewestFirst:
    """A timeline source too long to load whole (the access log of a busy case): counted in
    SQL, and only the newest rows a page needs are fetched, in one query.

    ``queryset`` must be ordered newest first; ``to_entries`` turns a slice of it into entries.
    """

    def __init__(self, queryset, to_entries):
        self.queryset = queryset
        self.to_entries = to_entries
        self._count = None

    def count(self) -> int:
        if self._count is None:
            self._count = self.queryset.count()
        return self._count

    def newest(self, n) -> list[Entry]:
        return self.to_entries(self.queryset[:n]) if n > 0 else []


class Timeline:
    """Entries from several sources, newest first, sliceable for a Paginator.

    ``loaded`` are callables returning lists of entries (change history: diffs need every
    version, and a case's history is bounded by what was done to it); ``long`` are NewestFirst
    sources, of which a page fetches only the newest rows it can show. Counting and slicing
    run a fixed number of queries, however long the timeline is.
    """

    def __init__(self, loaded=(), long=()):
        self._loaders = list(loaded)
        self._loaded = None
        self.long = list(long)

    @property
    def loaded(self) -> list[list[Entry]]:
        if self._loaded is None:
            self._loaded = [load() for load in self._loaders]
        return self._loaded

    def count(self) -> int:
        return sum(len(entries) for entries in self.loaded) + sum(s.count() for s in self.long)

    def __len__(self):
        return self.count()

    def __iter__(self):
        return iter(self[: self.count()])

    def __getitem__(self, index):
        if isinstance(index, int):
            if index < 0:
                index += self.count()
            found = self[index : index + 1]
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop, step = index.start, index.stop, index.step
        if stop is None or stop < 0 or (start or 0) < 0:
            stop = self.count()
        # Page n of the merge lies within the newest ``stop`` entries of every source.
        merged = merge(*self.loaded, *(source.newest(stop) for source in self.long))
        return merged[slice(start, index.stop, step)]


# --- the sources of a timeline, as data -------------------------------------------------


@dataclass(frozen=True)
class HistorySource:
    """One history table on a case's timeline: ``model``'s simple-history rows whose
    ``case_lookup`` is the case's pk, as entries of ``kind`` titled ``created`` for the first
    version and ``changed`` for a later one that changed any of ``fields``; ``text`` names a
    field shown with each entry."""

    kind: str
    model: Any
    case_lookup: str
    created: Any
    changed: Any
    fields: tuple[str, ...]
    text: str | None = None

    def queryset(self, case):
        """The case's rows of this history table, oldest first."""
        return self.model.history.filter(**{self.case_lookup: case.pk}).order_by(
            "history_date", "history_id"
        )

    def entries(self, case, rows=None) -> list[Entry]:
        """Entries from ``rows`` (the queryset's rows, fetched already) or the queryset."""
        return history_entries(
            self.queryset(case) if rows is None else rows,
            kind=self.kind,
            created=self.created,
            changed=self.changed,
            fields=list(self.fields),
            text=self.text,
        )


@dataclass(frozen=True)
class Source:
    """Entries of ``kind`` that are no plain history table (the workflow's tasks): ``load``
    turns the case into its entries."""

    kind: str
    load: Callable[[Any], list[Entry]]

    def entries(self, case) -> list[Entry]:
        return self.load(case)


@dataclass(frozen=True)
class NewestFirstSource:
    """Entries of ``kind`` too many to load whole: ``queryset(case)`` ordered newest first,
    ``to_entries(rows, case)`` for the slice a page shows (see :class:`NewestFirst`)."""

    kind: str
    queryset: Callable[[Any], Any]
    to_entries: Callable[[Any], list[Entry]]

    def newest_first(self, case) -> NewestFirst:
        return NewestFirst(self.queryset(case), lambda rows: self.to_entries(rows, case))


def assemble(sources: Sequence, case, *, kinds, fetched=None) -> Timeline:
    """The timeline of ``case`` from those of ``sources`` whose kind is in ``kinds``. Each
    history source is one query, run when the timeline is first counted or sliced, unless its
    rows are in ``fetched`` (source -> rows, fetched together with others by the caller);
    entries at the same moment keep the order of ``sources``."""
    chosen = [source for source in sources if source.kind in kinds]
    fetched = fetched or {}

    def loader(source):
        if isinstance(source, HistorySource) and source in fetched:
            return lambda: source.entries(case, fetched[source])
        return lambda: source.entries(case)

    return Timeline(
        loaded=[loader(s) for s in chosen if not isinstance(s, NewestFirstSource)],
        long=[s.newest_first(case) for s in chosen if isinstance(s, NewestFirstSource)],
    )
