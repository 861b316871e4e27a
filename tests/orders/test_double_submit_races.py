# ruff: noqa: F811 - the fixtures shared with test_concurrency are imported by name
"""Two people sending at the same moment (issue 10, point 6): one is recorded, the other is
told what happened, nobody gets a 500.

The case-number race needs PostgreSQL (``DATABASE_URL=postgres://…``). The sign-off race
runs on SQLite, the demo's database, in a file (an in-memory database shares one cache
between connections and does not wait for locks the way a file does)."""

import sqlite3
import threading
from types import SimpleNamespace

import pytest
from django.contrib.messages import constants as message_levels
from django.db import connection
from django.test import Client
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task

from municipalities.models import User
from orders import services
from orders.flows import OrderFlow
from orders.models import Order, Review
from tests.orders.http_flow import issue_data
from tests.orders.test_concurrency import (  # noqa: F401 - fixtures, used by name
    at_sign_off,
    post_job,
    postgresql_only,
    race,
    second_caseworker,
    sign_offs_meet,
    slow_decision,
)
from tests.orders.test_measure_pages import nb


@postgresql_only
def test_the_same_case_number_issued_at_the_same_moment_makes_one_order(
    world, second_caseworker, monkeypatch
):
    """Both requests pass the check for a used number, then both insert: the unique
    constraint lets one through, the other gets the form back with the reason."""
    inside = threading.Barrier(2)
    real = OrderFlow.issue.run

    def meet_then_issue(**fields):
        inside.wait(timeout=30)  # both have found the number free
        return real(**fields)

    monkeypatch.setattr(OrderFlow.issue, "run", meet_then_issue)
    data = issue_data(world, number=808)

    def issue_job(user_pk):
        def prepare():
            client = Client()
            client.force_login(User.objects.get(pk=user_pk))
            return client

        def act(client):
            response = client.post("/saker/ny/", data)
            form = response.context["form"] if response.status_code == 200 else None
            return SimpleNamespace(
                status=response.status_code, errors=form.errors if form else None
            )

        return prepare, act

    results = race(issue_job(world.caseworker.pk), issue_job(second_caseworker.pk))

    assert [error for _, error in results] == [None, None], results
    responses = sorted((value for value, _ in results), key=lambda r: r.status)
    assert [r.status for r in responses] == [200, 302], responses
    assert responses[0].errors["case_number"] == [
        nb("The case number %(number)s is already used by this authority.", number="2026/808")
    ]
    assert Order.objects.filter(case_number="2026/808").count() == 1


@pytest.fixture
def file_sqlite(tmp_path, monkeypatch):
    """Copy the test database into a file and point new connections (the threads') at it;
    returns a function that opens the file to look at the result."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite demo's race")
    path = tmp_path / "demo.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    monkeypatch.setitem(connection.settings_dict, "NAME", str(path))
    return lambda: sqlite3.connect(path)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_sign_offs_on_sqlite_leave_one_review_and_no_server_error(
    world, at_sign_off, second_caseworker, slow_decision, sign_offs_meet, file_sqlite
):
    slow_decision()  # the winner holds the write lock a while
    url = f"/saker/{at_sign_off.order.pk}/steg/{at_sign_off.task.pk}/"
    data = {"outcome": Review.Outcome.FULFILLED}
    results = race(
        post_job(world.caseworker.pk, url, data), post_job(second_caseworker.pk, url, data)
    )

    assert [error for _, error in results] == [None, None], results
    responses = [value for value, _ in results]
    assert all(r.status == 302 for r in responses), responses
    levels = sorted(level for r in responses for level in r.levels)
    assert levels == [message_levels.SUCCESS, message_levels.WARNING], responses
    with file_sqlite() as db:
        (reviews,) = db.execute(
            "select count(*) from orders_review where order_id = ?", [at_sign_off.order.pk]
        ).fetchone()
    assert reviews == 1


@pytest.mark.django_db(transaction=True)
def test_a_sign_off_while_sqlite_is_held_by_another_writer_reports_the_case_busy(
    world, at_sign_off, file_sqlite, settings
):
    """Past the timeout the service reports the lock it could not get, as on PostgreSQL
    (FlowLockFailed, which the step page answers with "someone else is saving"); nothing is
    saved and the step stays open."""
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 0.2

    def prepare():
        return Task.objects.get(pk=at_sign_off.task.pk), User.objects.get(pk=world.caseworker.pk)

    def act(prepared):
        task, user = prepared
        return services.sign_off(task=task, acting_user=user, outcome=Review.Outcome.FULFILLED)

    held = file_sqlite()
    held.execute("begin immediate")
    try:
        ((_, error),) = race((prepare, act))
    finally:
        held.rollback()
        held.close()
    assert isinstance(error, FlowLockFailed), repr(error)
    with file_sqlite() as db:
        (reviews,) = db.execute(
            "select count(*) from orders_review where order_id = ?", [at_sign_off.order.pk]
        ).fetchone()
        (status,) = db.execute(
            "select status from viewflow_task where id = ?", [at_sign_off.task.pk]
        ).fetchone()
    assert (reviews, status) == (0, "NEW")
