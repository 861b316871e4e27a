"""Two people taking the same step at once leave one decision.

The threaded tests need real row locks and separate connections, so they run on PostgreSQL
only: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pytest tests/orders/
test_concurrency.py``. Each thread uses its own connection and closes it when done.
"""

import threading
import time
from types import SimpleNamespace

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.test import Client
from viewflow.workflow import lock as viewflow_lock
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS

from municipalities.models import User
from orders import services, views
from orders.models import Order, Review
from tests import factories
from tests.orders import lifecycle

on_postgresql = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True),
]


def postgresql_only(test):
    for mark in reversed(on_postgresql):
        test = mark(test)
    return test


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture
def second_caseworker(world):
    return factories.caseworker_for(world.authority, username="saksbehandler2")


@pytest.fixture
def at_sign_off(world, order):
    lifecycle.advance(order, world.leader, "sign_off")
    return SimpleNamespace(order=order, task=lifecycle.open_task(order, "sign_off"))


def race(*jobs, timeout=60):
    """Run each job in its own thread; all start together. Returns (value, error) per job.

    A job is ``(prepare, act)``: ``prepare()`` runs first (loading rows on the thread's own
    connection), then all threads meet at a barrier and call ``act(prepared)``.
    """
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, prepare, act):
        try:
            prepared = prepare()
            barrier.wait(timeout=timeout)
            results[i] = (act(prepared), None)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[i] = (None, error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, prepare, act), daemon=True)
        for i, (prepare, act) in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a racing thread hung"
    return results


@pytest.fixture
def slow_decision(monkeypatch):
    """Make the winner hold the lock a while, so the loser surely finds the row locked.

    Returns the list of viewflow's back-off pauses, which shows that a thread did wait."""
    backoffs = []

    def use():
        original = Review.full_clean

        def slow_full_clean(self, *args, **kwargs):
            time.sleep(0.5)
            return original(self, *args, **kwargs)

        def recorded_sleep(seconds):
            backoffs.append(seconds)
            time.sleep(seconds)

        monkeypatch.setattr(Review, "full_clean", slow_full_clean)
        monkeypatch.setattr(viewflow_lock, "time", SimpleNamespace(sleep=recorded_sleep))
        return backoffs

    return use


def sign_off_job(task_pk, user_pk, outcome):
    def prepare():
        return Task.objects.get(pk=task_pk), User.objects.get(pk=user_pk)

    def act(prepared):
        task, user = prepared
        reason = "" if outcome == Review.Outcome.FULFILLED else "Mangler kursbevis"
        return services.sign_off(task=task, acting_user=user, outcome=outcome, reason=reason)

    return prepare, act


def assert_one_decision(order, winner_outcome):
    assert Review.objects.filter(order_id=order.pk).count() == 1
    review = Review.objects.get(order_id=order.pk)
    assert review.outcome == winner_outcome
    order = Order.objects.get(pk=order.pk)
    sign_offs = [
        t for t in Task.objects.filter(process_id=order.pk) if t.flow_task.name == "sign_off"
    ]
    assert [t.status for t in sign_offs] == ["DONE"]
    assert sign_offs[0].owner_id == review.decided_by_id
    open_tasks = list(
        Task.objects.filter(
            process_id=order.pk, flow_task_type="HUMAN", status__in=["NEW", "ASSIGNED"]
        )
    )
    if winner_outcome == Review.Outcome.FULFILLED:
        assert order.status == PROCESS.DONE
        assert open_tasks == []
    else:
        assert order.status == PROCESS.NEW
        assert [t.flow_task.name for t in open_tasks] == ["confirm_completion"]
        confirms = [
            t
            for t in Task.objects.filter(process_id=order.pk)
            if t.flow_task.name == "confirm_completion"
        ]
        assert sorted(t.status for t in confirms) == ["DONE", "NEW"]
    return review


OUTCOMES = [
    pytest.param(("fulfilled", "fulfilled"), id="both-fulfilled"),
    pytest.param(("returned", "returned"), id="both-returned"),
    pytest.param(("fulfilled", "returned"), id="fulfilled-vs-returned"),
]


# --- the service -------------------------------------------------------------------------


@postgresql_only
@pytest.mark.parametrize("contention", ["natural", "forced"])
@pytest.mark.parametrize("outcomes", OUTCOMES)
def test_two_simultaneous_sign_offs_leave_one_review(
    world, at_sign_off, second_caseworker, slow_decision, outcomes, contention
):
    backoffs = slow_decision() if contention == "forced" else None
    people = (world.caseworker, second_caseworker)
    results = race(
        *(
            sign_off_job(at_sign_off.task.pk, person.pk, outcome)
            for person, outcome in zip(people, outcomes, strict=True)
        )
    )

    winners = [i for i, (value, error) in enumerate(results) if error is None]
    losers = [error for value, error in results if error is not None]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert isinstance(losers[0], services.StepNotOpen), repr(losers[0])
    review = assert_one_decision(at_sign_off.order, outcomes[winners[0]])
    assert review.decided_by == people[winners[0]]
    if backoffs is not None:
        assert backoffs, "the loser never found the row locked: the race was not forced"


@postgresql_only
def test_many_simultaneous_sign_offs_leave_one_review(world, at_sign_off, slow_decision):
    slow_decision()
    people = [world.caseworker] + [
        factories.caseworker_for(world.authority, username=f"saksbehandler{i}") for i in range(3)
    ]
    results = race(
        *(sign_off_job(at_sign_off.task.pk, p.pk, Review.Outcome.FULFILLED) for p in people)
    )
    errors = [error for _, error in results if error is not None]
    assert len(errors) == len(people) - 1, results
    assert all(isinstance(e, services.StepNotOpen) for e in errors), errors
    assert_one_decision(at_sign_off.order, Review.Outcome.FULFILLED)


@postgresql_only
def test_sign_off_racing_a_withdrawal_leaves_one_consistent_result(
    world, at_sign_off, second_caseworker, slow_decision
):
    slow_decision()

    def withdraw_job():
        def prepare():
            return Order.objects.get(pk=at_sign_off.order.pk), User.objects.get(
                pk=second_caseworker.pk
            )

        def act(prepared):
            order, user = prepared
            return services.withdraw_order(order=order, acting_user=user, reason="Feil person")

        return prepare, act

    results = race(
        sign_off_job(at_sign_off.task.pk, world.caseworker.pk, Review.Outcome.FULFILLED),
        withdraw_job(),
    )

    errors = [error for _, error in results if error is not None]
    assert len(errors) == 1, results
    assert isinstance(errors[0], services.StepNotOpen), repr(errors[0])
    order = Order.objects.get(pk=at_sign_off.order.pk)
    if results[0][1] is None:  # the sign-off won: fulfilled, not withdrawn
        assert order.status == PROCESS.DONE
        assert order.withdrawal_reason == ""
        assert order.reviews.count() == 1
    else:  # the withdrawal won: cancelled, no review
        assert order.status == PROCESS.CANCELED
        assert order.reviews.count() == 0
    assert not Task.objects.filter(
        process_id=order.pk, flow_task_type="HUMAN", status__in=["NEW", "ASSIGNED"]
    ).exists()


# --- the page ----------------------------------------------------------------------------


def post_job(user_pk, url, data, *, before=None):
    def prepare():
        client = Client()
        client.force_login(User.objects.get(pk=user_pk))
        return client

    def act(client):
        response = client.post(url, data)
        return SimpleNamespace(
            status=response.status_code,
            url=getattr(response, "url", None),
            levels=[m.level for m in get_messages(response.wsgi_request)],
        )

    return prepare, act


@pytest.fixture
def sign_offs_meet(monkeypatch):
    """Hold two sign-off requests, each once the page has checked and validated it, until
    both have come that far: then they race for the lock itself."""
    inside = threading.Barrier(2)
    real = views.STEPS["sign_off"]["service"]

    def meet_then_sign_off(**kwargs):
        inside.wait(timeout=30)
        return real(**kwargs)

    monkeypatch.setitem(views.STEPS["sign_off"], "service", meet_then_sign_off)


def _sign_off_posts(world, second_caseworker, at_sign_off, outcomes):
    url = f"/saker/{at_sign_off.order.pk}/steg/{at_sign_off.task.pk}/"
    people = (world.caseworker, second_caseworker)
    return [
        post_job(p.pk, url, {"outcome": o, "reason": "Mangler kursbevis"})
        for p, o in zip(people, outcomes, strict=True)
    ]


@postgresql_only
@pytest.mark.parametrize("outcomes", OUTCOMES)
def test_two_simultaneous_sign_off_posts_one_saved_one_told_it_is_taken(
    world, at_sign_off, second_caseworker, slow_decision, sign_offs_meet, outcomes
):
    """Both requests pass the page's own checks, then race for the lock: the loser is sent
    back to the case with a warning (no 500, no second review)."""
    backoffs = slow_decision()
    results = race(*_sign_off_posts(world, second_caseworker, at_sign_off, outcomes))

    assert [error for _, error in results] == [None, None], results
    responses = [value for value, _ in results]
    assert all(r.status == 302 for r in responses), responses
    assert all(r.url == f"/saker/{at_sign_off.order.pk}/" for r in responses), responses
    levels = sorted(level for r in responses for level in r.levels)
    assert levels == [message_levels.SUCCESS, message_levels.WARNING], responses
    winner = next(i for i, r in enumerate(responses) if r.levels == [message_levels.SUCCESS])
    assert_one_decision(at_sign_off.order, outcomes[winner])
    assert backoffs, "the loser never found the row locked: the race was not forced"


@postgresql_only
@pytest.mark.parametrize("outcomes", OUTCOMES)
def test_two_simultaneous_sign_off_posts_never_fail_with_a_server_error(
    world, at_sign_off, second_caseworker, outcomes
):
    """Unsynchronised: the loser may also arrive after the winner has finished."""
    results = race(*_sign_off_posts(world, second_caseworker, at_sign_off, outcomes))

    assert [error for _, error in results] == [None, None], results
    responses = [value for value, _ in results]
    assert all(r.status in (302, 404) for r in responses), responses
    winners = [i for i, r in enumerate(responses) if message_levels.SUCCESS in r.levels]
    assert len(winners) == 1, responses
    assert_one_decision(at_sign_off.order, outcomes[winners[0]])


# --- a lock held longer than viewflow's retries -------------------------------------------


@pytest.fixture
def no_backoff(monkeypatch):
    """viewflow sleeps 6–10 s in total between its five lock attempts; skip the sleeping."""
    monkeypatch.setattr(viewflow_lock, "time", SimpleNamespace(sleep=lambda seconds: None))


@pytest.fixture
def row_locked_by_someone_else():
    """Hold the order's row lock on another connection until the block ends."""

    def hold(order_pk):
        held, release = threading.Event(), threading.Event()

        def run():
            try:
                with transaction.atomic():
                    Order.objects.select_for_update().get(pk=order_pk)
                    held.set()
                    release.wait(timeout=60)
            finally:
                connection.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert held.wait(timeout=30), "could not take the row lock"
        return release, thread

    holders = []

    class Holder:
        def __init__(self, order_pk):
            self.order_pk = order_pk

        def __enter__(self):
            self.release, self.thread = hold(self.order_pk)
            holders.append(self)

        def __exit__(self, *exc):
            self.release.set()
            self.thread.join(timeout=30)

    yield Holder
    for holder in holders:
        holder.release.set()


@postgresql_only
def test_sign_off_service_reports_a_lock_it_cannot_get(
    world, at_sign_off, no_backoff, row_locked_by_someone_else
):
    with row_locked_by_someone_else(at_sign_off.order.pk):
        with pytest.raises(FlowLockFailed):
            services.sign_off(
                task=Task.objects.get(pk=at_sign_off.task.pk),
                acting_user=world.caseworker,
                outcome=Review.Outcome.FULFILLED,
            )
    assert not Review.objects.filter(order_id=at_sign_off.order.pk).exists()
    assert lifecycle.open_task(at_sign_off.order, "sign_off").pk == at_sign_off.task.pk


@postgresql_only
def test_step_page_asks_to_try_again_when_the_case_stays_locked(
    world, at_sign_off, no_backoff, row_locked_by_someone_else, client_for
):
    client = client_for(world.caseworker)
    url = f"/saker/{at_sign_off.order.pk}/steg/{at_sign_off.task.pk}/"
    with row_locked_by_someone_else(at_sign_off.order.pk):
        response = client.post(url, {"outcome": Review.Outcome.FULFILLED})

    assert response.status_code == 200  # the form again, with the message
    assert [m.message for m in get_messages(response.wsgi_request)] == [views.BUSY_MESSAGE]
    assert not Review.objects.filter(order_id=at_sign_off.order.pk).exists()

    # Once the lock is free the same request goes through.
    response = client.post(url, {"outcome": Review.Outcome.FULFILLED})
    assert response.status_code == 302
    assert Review.objects.filter(order_id=at_sign_off.order.pk).count() == 1


@postgresql_only
def test_case_action_asks_to_try_again_when_the_case_stays_locked(
    world, at_sign_off, no_backoff, row_locked_by_someone_else, client_for
):
    client = client_for(world.caseworker)
    url = f"/saker/{at_sign_off.order.pk}/trekk-tilbake/"
    with row_locked_by_someone_else(at_sign_off.order.pk):
        response = client.post(url, {"reason": "Feil person", "confirm": "on"})

    assert response.status_code == 200
    assert [m.message for m in get_messages(response.wsgi_request)] == [views.BUSY_MESSAGE]
    assert Order.objects.get(pk=at_sign_off.order.pk).status == PROCESS.NEW


# --- one after the other (no threads; runs on every database) ----------------------------


def test_posting_a_step_that_was_just_taken_says_so_instead_of_not_found(
    world, at_sign_off, second_caseworker, client_for
):
    url = f"/saker/{at_sign_off.order.pk}/steg/{at_sign_off.task.pk}/"
    first = client_for(world.caseworker).post(url, {"outcome": Review.Outcome.FULFILLED})
    assert first.status_code == 302

    second = client_for(second_caseworker).post(url, {"outcome": Review.Outcome.FULFILLED})

    assert second.status_code == 302
    assert second.url == f"/saker/{at_sign_off.order.pk}/"
    # The shared test client still carries the first user's success message; ours comes last.
    assert [m.level for m in get_messages(second.wsgi_request)][-1] == message_levels.WARNING
    assert Review.objects.filter(order_id=at_sign_off.order.pk).count() == 1


def test_sign_off_with_a_stale_task_is_refused_as_not_open(world, at_sign_off, second_caseworker):
    """The service's own re-check under the lock, without threads: the second caller holds a
    task row loaded before the first decision."""
    stale = Task.objects.get(pk=at_sign_off.task.pk)
    services.sign_off(
        task=at_sign_off.task, acting_user=world.caseworker, outcome=Review.Outcome.FULFILLED
    )
    with pytest.raises(services.StepNotOpen):
        services.sign_off(
            task=stale,
            acting_user=second_caseworker,
            outcome=Review.Outcome.RETURNED,
            reason="For sent",
        )
    assert_one_decision(at_sign_off.order, Review.Outcome.FULFILLED)
