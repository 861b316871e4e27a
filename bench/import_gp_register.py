"""Time the GP register import on synthetic data: a first import of 10,000 GPs at a few hundred
offices, the same file again, and the file with 10 % of the rows changed.

Runs against the database in the settings (DATABASE_URL, else var/db.sqlite3), which must be
migrated. `make bench` does that in a throwaway SQLite database; for PostgreSQL:

    createdb -h 127.0.0.1 -U postgres palegg_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/palegg_bench make bench

HPR and organisation numbers start at a random point each run, so the first import creates
everything also in a database used before.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import gp_register_data as data  # noqa: E402
from django.db import connection  # noqa: E402
from faker import Faker  # noqa: E402

from municipalities.gp_register import import_gp_register  # noqa: E402
from municipalities.models import Authority, GPOffice, HealthPersonnel, Municipality  # noqa: E402


def municipalities_needed():
    """The benchmark's municipalities, created (under a benchmark authority) where missing."""
    missing = [
        m for m in data.MUNICIPALITIES if not Municipality.objects.filter(number=m[0]).exists()
    ]
    if missing:
        authority = Authority.objects.filter(kind=Authority.Kind.STATSFORVALTER).first()
        if authority is None:
            authority = Authority.objects.create(
                name="Statsforvalteren (benchmark)",
                kind=Authority.Kind.STATSFORVALTER,
                org_number=data.org_number(99_990_000),
            )
        for number, name, county, _postcode, _town in missing:
            Municipality.objects.create(
                number=number, name=name, county=county, authority=authority
            )


def history_rows():
    return HealthPersonnel.history.count() + GPOffice.history.count()


def timed(label, path):
    before = history_rows()
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        summary = import_gp_register(path)
        seconds = time.perf_counter() - start
    print(
        f"{label:<22} {seconds:6.2f} s  {len(queries):5d} queries  "
        f"created {summary.created:5d}  updated {summary.updated:5d}  "
        f"unchanged {summary.unchanged:5d}  rejected {summary.rejected:3d}  "
        f"offices +{summary.offices_created}/~{summary.offices_updated}  "
        f"history rows +{history_rows() - before}"
    )
    return summary


def changed(rows, rng, share):
    """A copy of ``rows`` with ``share`` of them changed: list size, open list, name, office."""
    rows = [dict(row) for row in rows]
    offices = {row["legekontor_orgnr"]: row for row in rows}
    office_rows = list(offices.values())
    for n, row in enumerate(rng.sample(rows, int(len(rows) * share))):
        kind = n % 4
        if kind == 0:
            row["listelengde"] = str(int(row["listelengde"]) + 7)
        elif kind == 1:
            row["ledig_liste"] = "nei" if row["ledig_liste"] == "ja" else "ja"
        elif kind == 2:
            row["lege_navn"] += "-Berg"
        else:
            other = rng.choice(office_rows)
            for column in ("kommunenummer", "legekontor", "legekontor_orgnr", "adresse"):
                row[column] = other[column]
            row["postnummer"], row["poststed"] = other["postnummer"], other["poststed"]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--offices", type=int, default=300)
    args = parser.parse_args()

    municipalities_needed()
    rng = random.Random()
    fake = Faker("no_NO")
    offices = data.offices(
        args.offices,
        municipalities=data.MUNICIPALITIES,
        org_base=rng.randrange(80_000_000, 89_000_000, 100_000),
        fake=fake,
        rng=rng,
    )
    rows = data.gp_rows(
        args.rows,
        offices=offices,
        hpr_base=rng.randrange(100_000_000, 899_000_000, 100_000),
        fake=fake,
        rng=rng,
    )
    print(
        f"{connection.vendor}: {args.rows} GPs at {args.offices} offices in "
        f"{len(data.MUNICIPALITIES)} municipalities"
    )
    with tempfile.TemporaryDirectory() as tmp:
        first, again, every = (Path(tmp, name) for name in ("first.csv", "10.csv", "all.csv"))
        data.write(first, rows)
        ten_percent = changed(rows, rng, 0.10)
        data.write(again, ten_percent)
        # A monthly extract: nearly every list size moves a little.
        data.write(
            every, [{**row, "listelengde": str(int(row["listelengde"]) + 1)} for row in ten_percent]
        )
        timed("first import", first)
        timed("same file again", first)
        timed("10 % changed", again)
        timed("all list sizes changed", every)


if __name__ == "__main__":
    main()
