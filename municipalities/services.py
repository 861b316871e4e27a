"""Reference data: the supervisory authorities and the municipalities, loaded from the files in
``municipalities/data/``.

The loader is idempotent: it saves a row only when a field actually changed, so running it again
adds neither rows nor history. It never deletes a municipality. A merger or a renumbering is read
from ``kommuneendringer.csv``: the old municipality keeps its row, its history and every order
that points to it, and gets ``valid_to`` and ``successor``. A municipality that is no longer in the
list and has no change row is reported, not deleted.
"""

import contextlib
import csv
import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from stdnum.no import orgnr

from audit.actor import acting_as
from municipalities.models import Authority, Municipality

DATA_DIR = Path(__file__).resolve().parent / "data"
AUTHORITIES_FILE = DATA_DIR / "tilsynsmyndigheter.csv"
MUNICIPALITIES_FILE = DATA_DIR / "kommuner-2024.csv"
CHANGES_FILE = DATA_DIR / "kommuneendringer.csv"

AUTHORITY_COLUMNS = ["key", "name", "kind", "org_number", "counties"]
MUNICIPALITY_COLUMNS = ["kommunenummer", "navn", "offisielt_navn", "fylke"]
CHANGE_COLUMNS = ["gammelt_nummer", "nytt_nummer", "dato", "merknad"]

_NUMBER = re.compile(r"^\d{4}$")


class ReferenceDataError(Exception):
    """A reference file is malformed or inconsistent; nothing was written."""


@dataclass(frozen=True)
class AuthorityRow:
    key: str
    name: str
    kind: str
    org_number: str
    counties: tuple[str, ...]


@dataclass(frozen=True)
class MunicipalityRow:
    number: str
    name: str
    official_name: str
    county: str


@dataclass(frozen=True)
class MunicipalityChange:
    old_number: str
    new_number: str
    date: datetime.date
    note: str


@dataclass
class Tally:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    ceased: list = field(default_factory=list)


@dataclass
class LoadSummary:
    authorities: Tally = field(default_factory=Tally)
    municipalities: Tally = field(default_factory=Tally)
    # Current municipalities in the database that the list no longer has, with no change row.
    unlisted: list = field(default_factory=list)
    # Change rows whose old municipality was never in this database (nothing to cease).
    changes_not_applicable: list = field(default_factory=list)

    @property
    def changed_anything(self):
        return any(
            getattr(tally, name)
            for tally in (self.authorities, self.municipalities)
            for name in ("created", "updated", "ceased")
        )

    def lines(self):
        a, m = self.authorities, self.municipalities
        yield (
            f"Authorities: {len(a.created)} created, {len(a.updated)} updated, "
            f"{len(a.unchanged)} unchanged."
        )
        yield (
            f"Municipalities: {len(m.created)} created, {len(m.updated)} updated, "
            f"{len(m.unchanged)} unchanged, {len(m.ceased)} ceased."
        )
        for municipality in self.unlisted:
            yield (
                f"Not in the list and no change row (kept, not deleted): {municipality}. "
                "Add a row to kommuneendringer.csv if it has merged or been renumbered."
            )
        for change in self.changes_not_applicable:
            yield (
                f"Change {change.old_number} -> {change.new_number} skipped: "
                f"{change.old_number} is not in the database."
            )


# --- Reading and checking the files -------------------------------------------------------


def _rows(path, columns):
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=";")
            if reader.fieldnames != columns:
                raise ReferenceDataError(
                    f"{path.name}: expected the columns {';'.join(columns)}, "
                    f"found {';'.join(reader.fieldnames or [])}."
                )
            for line, row in enumerate(reader, start=2):
                if None in row or any(value is None for value in row.values()):
                    raise ReferenceDataError(f"{path.name} line {line}: wrong number of fields.")
                yield line, {key: value.strip() for key, value in row.items()}
    except FileNotFoundError as error:
        raise ReferenceDataError(f"{path}: no such file.") from error


def read_authorities(path=AUTHORITIES_FILE) -> list[AuthorityRow]:
    rows, name = [], Path(path).name
    for line, row in _rows(path, AUTHORITY_COLUMNS):
        if row["kind"] not in Authority.Kind.values:
            raise ReferenceDataError(f"{name} line {line}: unknown kind {row['kind']!r}.")
        if not orgnr.is_valid(row["org_number"]):
            raise ReferenceDataError(
                f"{name} line {line}: {row['org_number']!r} is not a valid organisation number."
            )
        counties = tuple(c.strip() for c in row["counties"].split("|") if c.strip())
        if row["kind"] == Authority.Kind.STATSFORVALTER and not counties:
            raise ReferenceDataError(f"{name} line {line}: a county governor covers no county.")
        rows.append(AuthorityRow(row["key"], row["name"], row["kind"], row["org_number"], counties))
    for attribute in ("key", "name", "org_number"):
        values = [getattr(r, attribute) for r in rows]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ReferenceDataError(f"{name}: duplicate {attribute}: {', '.join(duplicates)}.")
    counties = [c for r in rows for c in r.counties]
    twice = sorted({c for c in counties if counties.count(c) > 1})
    if twice:
        raise ReferenceDataError(f"{name}: counties covered twice: {', '.join(twice)}.")
    return rows


def read_municipalities(path=MUNICIPALITIES_FILE) -> list[MunicipalityRow]:
    rows, name = [], Path(path).name
    for line, row in _rows(path, MUNICIPALITY_COLUMNS):
        if not _NUMBER.match(row["kommunenummer"]):
            raise ReferenceDataError(
                f"{name} line {line}: {row['kommunenummer']!r} is not a four-digit number."
            )
        if not row["navn"] or not row["fylke"]:
            raise ReferenceDataError(f"{name} line {line}: name and county are required.")
        rows.append(
            MunicipalityRow(row["kommunenummer"], row["navn"], row["offisielt_navn"], row["fylke"])
        )
    numbers = [r.number for r in rows]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ReferenceDataError(
            f"{name}: duplicate municipality numbers: {', '.join(duplicates)}."
        )
    return rows


def read_changes(path=CHANGES_FILE) -> list[MunicipalityChange]:
    rows, name = [], Path(path).name
    for line, row in _rows(path, CHANGE_COLUMNS):
        old, new = row["gammelt_nummer"], row["nytt_nummer"]
        if not (_NUMBER.match(old) and _NUMBER.match(new)) or old == new:
            raise ReferenceDataError(
                f"{name} line {line}: old and new number must be two different four-digit numbers."
            )
        try:
            date = datetime.date.fromisoformat(row["dato"])
        except ValueError as error:
            raise ReferenceDataError(
                f"{name} line {line}: {row['dato']!r} is not a date (YYYY-MM-DD)."
            ) from error
        rows.append(MunicipalityChange(old, new, date, row["merknad"]))
    olds = [r.old_number for r in rows]
    split = sorted({n for n in olds if olds.count(n) > 1})
    if split:
        # A municipality has a single successor; a split would need a model change.
        raise ReferenceDataError(
            f"{name}: more than one change row for {', '.join(split)}; "
            "a municipality can have only one successor."
        )
    return rows


def authority_keys(path=AUTHORITIES_FILE) -> dict[str, str]:
    """Key in the authorities file -> organisation number, for looking rows up by key."""
    return {row.key: row.org_number for row in read_authorities(path)}


# --- Loading ---------------------------------------------------------------------------------


def _apply(instance, values) -> bool:
    """Set the fields that differ; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def _save(instance):
    instance.full_clean(validate_unique=False)
    instance.save()


def _name_key(name):
    """Three county governors use Nynorsk (Statsforvaltaren); rows made earlier may say
    Statsforvalteren. Matching by name is only the fallback when the number is not yet known."""
    return name.replace("Statsforvaltaren", "Statsforvalteren")


def _load_authorities(rows, tally) -> dict[str, Authority]:
    """Upsert by organisation number (or, for a row made before the real number was known, by
    name). Returns county -> county governor."""
    by_org = {a.org_number: a for a in Authority.objects.all()}
    by_name = {_name_key(a.name): a for a in by_org.values()}
    governor_of = {}
    for row in rows:
        values = {"name": row.name, "kind": row.kind, "org_number": row.org_number}
        authority = by_org.get(row.org_number) or by_name.get(_name_key(row.name))
        if authority is None:
            authority = Authority(**values)
            _save(authority)
            tally.created.append(authority)
        elif _apply(authority, values):
            _save(authority)
            tally.updated.append(authority)
        else:
            tally.unchanged.append(authority)
        for county in row.counties:
            governor_of[county] = authority
    return governor_of


def _load_municipalities(rows, governor_of, existing, tally):
    for row in rows:
        authority = governor_of.get(row.county)
        if authority is None:
            raise ReferenceDataError(
                f"{row.number} {row.name}: no county governor covers the county {row.county!r}."
            )
        values = {
            "name": row.name,
            "official_name": row.official_name,
            "county": row.county,
            "authority": authority,
        }
        municipality = existing.get(row.number)
        if municipality is None:
            municipality = Municipality(number=row.number, **values)
            _save(municipality)
            existing[row.number] = municipality
            tally.created.append(municipality)
        elif _apply(municipality, values):
            _save(municipality)
            tally.updated.append(municipality)
        else:
            tally.unchanged.append(municipality)


def _apply_changes(changes, existing, listed, summary):
    tally = summary.municipalities
    for change in changes:
        if change.old_number in listed:
            raise ReferenceDataError(
                f"{change.old_number} is both in the municipality list and has ceased "
                f"({change.old_number} -> {change.new_number})."
            )
        successor = existing.get(change.new_number)
        if successor is None:
            raise ReferenceDataError(
                f"Change {change.old_number} -> {change.new_number}: "
                f"{change.new_number} is neither in the list nor in the database."
            )
        old = existing.get(change.old_number)
        if old is None:
            summary.changes_not_applicable.append(change)
            continue
        was_current = old.valid_to is None
        if _apply(old, {"valid_to": change.date, "successor": successor}):
            _save(old)
            # The row may also have been counted as unchanged by the list pass.
            for bucket in (tally.unchanged, tally.updated):
                if old in bucket:
                    bucket.remove(old)
            (tally.ceased if was_current else tally.updated).append(old)
        elif old not in tally.unchanged:
            tally.unchanged.append(old)


def load_reference_data(
    *,
    acting_user=None,
    authorities=AUTHORITIES_FILE,
    municipalities=MUNICIPALITIES_FILE,
    changes=CHANGES_FILE,
) -> LoadSummary:
    """Create or update the authorities and municipalities from the reference files.

    Every file is read and checked before anything is written, and the whole load is one
    transaction: a bad file changes nothing.
    """
    authority_rows = read_authorities(authorities)
    municipality_rows = read_municipalities(municipalities)
    change_rows = read_changes(changes)
    covered = {county for row in authority_rows for county in row.counties}
    uncovered = sorted({r.county for r in municipality_rows} - covered)
    if uncovered:
        raise ReferenceDataError(f"No county governor covers: {', '.join(uncovered)}.")

    summary = LoadSummary()
    actor = acting_as(acting_user) if acting_user is not None else contextlib.nullcontext()
    with actor, transaction.atomic():
        governor_of = _load_authorities(authority_rows, summary.authorities)
        existing = {m.number: m for m in Municipality.objects.select_related("authority")}
        _load_municipalities(municipality_rows, governor_of, existing, summary.municipalities)
        listed = {row.number for row in municipality_rows}
        _apply_changes(change_rows, existing, listed, summary)
        ceased_by_file = {change.old_number for change in change_rows}
        summary.unlisted = [
            m
            for number, m in sorted(existing.items())
            if number not in listed and number not in ceased_by_file and m.valid_to is None
        ]
    return summary
