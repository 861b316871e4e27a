"""Time the access log's hash chain on PostgreSQL: events per second through
audit.chain.append with 1, 2, 4 and 8 writer processes, against plain INSERTs of the same rows
without the chain, then check with audit.chain.verify that the chain is whole.

    .venv/bin/python bench/chain.py [--database-url URL] [--events N] [--writers 1,2,4,8]

Uses its own database (created if missing, migrated with manage.py migrate), never the one in
the environment's DATABASE_URL. Each writer is a process with its own connection, as each web
worker is; all of them start together, and the rate is the events of a run over the time from
the start to the last writer's end. Each run writes --events events in all, and stops early
after --seconds, so a slow chain cannot keep it going for long.

To compare with another version of the chain, run the script from that version's checkout (a
`git worktree add /tmp/chain-old <commit>` with this file copied in) and its own --database-url:
it imports the code next to it.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/palegg_bench_chain"
# The plain-INSERT baseline's table: the access log's columns, defaults and indexes, no chain.
PLAIN_TABLE = "bench_plain_event"


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("PALEGG_DEVELOPMENT", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    # As in production: no query log kept in memory per statement.
    settings.DEBUG = False


def create_database(database_url):
    import psycopg
    from dj_database_url import parse
    from psycopg import sql

    name = parse(database_url)["NAME"]
    maintenance = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.")


def migrate(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "PALEGG_DEVELOPMENT": "1"}
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
        check=True,
        env=env,
        cwd=ROOT,
    )


def fields_for(user_id, writer, i):
    """What a caseworker's opening of a case writes (audit.record's fields), one case per event."""
    from audit import Action
    from audit.models import Role

    case = str(10_000 + (writer * 100_000 + i) % 5_000)
    return {
        "user_id": user_id,
        "role": Role.CASEWORKER,
        "organisation": "Statsforvalteren i Vestland",
        "authority_id": 2,
        "action": Action.VIEW_CASE,
        "target_type": "orders.order",
        "target_id": case,
        "case_id": case,
        "outcome": "shown",
        "ip_address": f"10.0.{writer}.{i % 250 + 1}",
        "detail": "",
    }


def prepare_plain_table():
    """A fresh copy of the access log's table shape (so its indexes are today's)."""
    from django.db import connection

    from audit.models import AccessEvent

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (LIKE {AccessEvent._meta.db_table} INCLUDING ALL)"
        )
        cursor.execute(f"DROP SEQUENCE IF EXISTS {PLAIN_TABLE}_sequence")
        cursor.execute(f"CREATE SEQUENCE {PLAIN_TABLE}_sequence")


def plain_insert(cursor, fields):
    """The same row as the chain writes, hashed the same way, in one INSERT of its own."""
    from django.utils import timezone

    from audit import chain
    from audit.models import AccessEvent

    event = AccessEvent(sequence=0, at=timezone.now(), previous_hash="", **fields)
    event.hash = chain.hash_of(event)
    names = [n for n in chain.HASHED_FIELDS if n != "sequence"] + ["hash"]
    values = [getattr(event, n) for n in names]
    cursor.execute(
        f"INSERT INTO {PLAIN_TABLE} (sequence, {', '.join(names)}) "
        f"VALUES (nextval('{PLAIN_TABLE}_sequence'), {', '.join(['%s'] * len(names))})",
        values,
    )


def writer(database_url, kind, number, count, user_id, barrier, deadline_seconds, results):
    try:
        setup_django(database_url)
        from django.db import connection

        from audit import chain

        connection.ensure_connection()
        barrier.wait()
        started = time.perf_counter()
        stop = started + deadline_seconds
        written = 0
        # Both kinds commit each event on its own (autocommit), waiting for the disk.
        with connection.cursor() as cursor:
            for i in range(count):
                fields = fields_for(user_id, number, i)
                if kind == "chain":
                    chain.append(**fields)
                else:
                    plain_insert(cursor, fields)
                written += 1
                if time.perf_counter() > stop:
                    break
        results.put((started, time.perf_counter(), written))
        connection.close()
    except BaseException as error:
        barrier.abort()
        results.put(f"{type(error).__name__}: {error}")  # not every error can be pickled
        raise


def run(database_url, kind, writers, events, user_id, deadline_seconds):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    each = max(1, events // writers)
    processes = [
        context.Process(
            target=writer,
            args=(database_url, kind, n, each, user_id, barrier, deadline_seconds, results),
        )
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=deadline_seconds + 120) for _ in processes]
    for process in processes:
        process.join()
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:
        raise SystemExit(f"A {kind} writer failed: {failures[0]}")
    start = min(o[0] for o in outcomes)
    end = max(o[1] for o in outcomes)
    written = sum(o[2] for o in outcomes)
    return written, end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--events", type=int, default=2000, help="events per run, all writers")
    parser.add_argument("--writers", default="1,2,4,8", help="writer counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=60, help="longest a run may take")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the chain's lock and triggers are PostgreSQL's: give a postgres:// URL")
    counts = [int(n) for n in args.writers.split(",") if n.strip()]

    create_database(args.database_url)
    migrate(args.database_url)
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from audit import chain

    user, _ = get_user_model().objects.get_or_create(
        username="bench.chain", defaults={"first_name": "Benk", "last_name": "Kjede"}
    )
    prepare_plain_table()
    connection.close()

    print(f"{args.events} events a run, {ROOT}")
    print(f"{'writers':>7}  {'chain ev/s':>10}  {'plain ev/s':>10}  {'chain/plain':>11}")
    for count in counts:
        chained, chain_time = run(
            args.database_url, "chain", count, args.events, user.pk, args.seconds
        )
        plain, plain_time = run(
            args.database_url, "plain", count, args.events, user.pk, args.seconds
        )
        chain_rate, plain_rate = chained / chain_time, plain / plain_time
        print(
            f"{count:>7}  {chain_rate:>10.0f}  {plain_rate:>10.0f}  {chain_rate / plain_rate:>11.2f}",
            flush=True,
        )

    started = time.perf_counter()
    report = chain.verify()
    took = time.perf_counter() - started
    if report.broken is not None:
        raise SystemExit(f"verify: the chain is BROKEN at {report.broken}")
    print(
        f"verify: intact, {report.checked} events checked up to #{report.sequence} ({took:.1f} s)"
    )


if __name__ == "__main__":
    main()
