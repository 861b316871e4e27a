"""``run_deadlines`` started at the same moment on two nodes does its work once: on PostgreSQL
one run holds an advisory lock and the other ends at once saying so; either way the two make
exactly the mail, notices and tasks one run alone makes. Real processes against the test
database, started together behind a barrier; mail written to files, one folder per process.
"""

import email
import io
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from viewflow.workflow.models import Task

from orders.management.commands.run_deadlines import LOCK_KEY
from orders.models import Notification
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL=postgres://…)"
    ),
]

# Issued this long ago, an order's planning deadline (30 days) and grace (7 more) have passed:
# its reminder, overdue notice and follow-up task are all due on the real clock.
ISSUED_DAYS_AGO = 60
ORDERS = 2
SEPARATOR = b"\n" + b"-" * 79 + b"\n"

# A run as manage.py makes it, which waits behind a barrier once Django is set up and the
# database reached, so that the runs begin their work together, not a start-up apart.
BARRIER_RUN = """
import os, sys, time, pathlib
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.management import call_command
from django.db import connection
connection.ensure_connection()
pathlib.Path(sys.argv[1]).touch()
while not pathlib.Path(sys.argv[2]).exists():
    time.sleep(0.001)
call_command("run_deadlines")
"""


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def node_env(mail_dir: Path, var_dir: Path) -> dict:
    mail_dir.mkdir()
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PALEGG_VAR_DIR": str(var_dir),
        "PALEGG_DEVELOPMENT": "1",
    }


def mails(*folders: Path) -> list:
    found = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            for raw in path.read_bytes().split(SEPARATOR):
                if raw.strip():
                    found.append(email.message_from_bytes(raw))
    return found


def notice_links(messages) -> list[str]:
    return [
        re.search(r"/varsler/(\d+)/", m.get_payload(decode=True).decode()).group(1)
        for m in messages
    ]


def totals() -> tuple[int, int]:
    return Notification.objects.count(), Task.objects.count()


@pytest.fixture
def issue_overdue_orders(world):
    """``ORDERS`` orders issued ``ISSUED_DAYS_AGO`` days ago (the clock moved back for it)."""

    def issue():
        with time_machine.travel(timezone.now() - timedelta(days=ISSUED_DAYS_AGO)):
            for _ in range(ORDERS):
                factories.issue_order(
                    caseworker=world.caseworker, authority=world.authority, personnel=world.gp
                )

    return issue


def run_alone(tmp_path, name) -> tuple[subprocess.CompletedProcess, Path]:
    env = node_env(tmp_path / f"mail-{name}", tmp_path)
    done = subprocess.run(
        [sys.executable, "manage.py", "run_deadlines"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, Path(env["EMAIL_FILE_PATH"])


def run_together(tmp_path, names) -> tuple[list, list[Path]]:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{name}" for name in names]
    envs = [node_env(tmp_path / f"mail-{name}", tmp_path) for name in names]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", BARRIER_RUN, str(flag), str(go)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag, env in zip(ready, envs, strict=True)
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outcomes = [run.communicate(timeout=120) + (run.returncode,) for run in runs]
    return outcomes, [Path(env["EMAIL_FILE_PATH"]) for env in envs]


@pytest.mark.django_db(transaction=True)
def test_two_runs_started_together_make_exactly_what_one_run_alone_makes(
    issue_overdue_orders, tmp_path
):
    # One run alone, for the numbers to expect.
    issue_overdue_orders()
    notices_before, tasks_before = totals()
    done, alone_mail = run_alone(tmp_path, "alone")
    assert done.returncode == 0, done.stderr
    notices_after, tasks_after = totals()
    alone = (notices_after - notices_before, tasks_after - tasks_before, len(mails(alone_mail)))
    assert all(n > 0 for n in alone), alone

    # The same work again (orders of the same kind, just as late), by two runs at once.
    issue_overdue_orders()
    notices_before, tasks_before = totals()
    outcomes, folders = run_together(tmp_path, ["node-1", "node-2"])
    for _out, err, returncode in outcomes:
        assert returncode == 0, err
    notices_after, tasks_after = totals()
    sent = mails(*folders)
    together = (notices_after - notices_before, tasks_after - tasks_before, len(sent))

    assert together == alone
    links = notice_links(sent)
    assert len(links) == len(set(links))  # no notice mailed twice
    per_recipient_key = Notification.objects.values_list("recipient", "key")
    assert len(per_recipient_key) == len(set(per_recipient_key))


def test_a_run_that_finds_another_in_progress_does_nothing_and_says_so(issue_overdue_orders):
    issue_overdue_orders()
    s = connection.settings_dict
    other_node = psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"],
        port=s["PORT"] or 5432,
        autocommit=True,
    )
    try:
        other_node.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        out = io.StringIO()
        call_command("run_deadlines", stdout=out)
        assert "in progress" in out.getvalue()
        assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 0
    finally:
        other_node.close()  # a node that goes away takes its lock with it

    # Its server process ends a moment after the connection closes, and the lock with it.
    wait_until_free(LOCK_KEY)
    out = io.StringIO()
    call_command("run_deadlines", stdout=out)
    assert "in progress" not in out.getvalue()
    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() > 0


def wait_until_free(key, seconds=10):
    """Wait (bounded) until no session holds the advisory lock ``key``."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if cursor.fetchone()[0]:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
                return
            assert time.monotonic() < deadline, f"advisory lock {key} still held"
            time.sleep(0.01)
