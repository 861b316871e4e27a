# ruff: noqa: F811 - the fixtures shared with test_audit_search are imported by name
"""The access-log search's number of queries as on a server: outside any transaction, so that
the access log's own write costs what it costs there (one statement on PostgreSQL), not a
savepoint in a test's transaction. A module of its own, as a transactional test makes its module
build the world for each test."""

import pytest
from django.db import connection

from tests import bulk

from .test_audit_search import SEARCH, officer, people, record  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_search_page_asks_the_database_at_most_twelve_times(
    world, order, people, officer, client_for, django_assert_max_num_queries
):
    """Session, user, capabilities and menu included: the count and the page are one query
    each however many events match, and the list of actions asks none."""
    kari, ola = people
    written = [
        record(who, authority=world.authority, order=order if i % 2 else None)
        for i, who in enumerate((kari, ola, world.caseworker))
    ]
    bulk.more_events_like(written, 300)
    client = client_for(officer)
    client.get(SEARCH)  # warm up: session, language

    # On SQLite the access event's write takes more statements than PostgreSQL's one: its
    # transaction's BEGIN IMMEDIATE (Django sends it itself), and the head moved, the event
    # inserted and the head given its hash apart, as the hash is computed in Python there
    # (audit.chain). The target is the server's.
    most = 12 if connection.vendor == "postgresql" else 13
    for params in ({}, {"user": "kari", "date_from": "2026-01-01"}, {"side": 3}):
        with django_assert_max_num_queries(most):
            response = client.get(SEARCH, params)
        assert response.status_code == 200
        assert len(response.context["page"].object_list) > 0, params
