"""Shared fixtures: one case world with two of everything, so every test can ask
"and the other municipality / authority / GP sees nothing"."""

import copy
import logging
import os
from dataclasses import dataclass

import pytest
from django.db import connection

from tests import factories, flush

# _forget_snapshots is an autouse fixture: imported here so that pytest finds it.
from tests.snapshots import _forget_snapshots, is_transactional, snapshot_fixture  # noqa: F401

# Two request-log lines at INFO for each of the suite's many thousand requests cost time and
# tell a test nothing; tests/test_logs.py reads them at INFO itself. LOG_LEVEL=INFO shows them.
if "LOG_LEVEL" not in os.environ:
    logging.getLogger().setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _private_document_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "documents"
    # Password hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _quick_flush_on_postgresql():
    """Transactional tests are followed by a flush of the tables they wrote (tests/flush.py)."""
    if connection.vendor != "postgresql":
        yield
        return
    flush.install()
    yield
    flush.uninstall()


@dataclass
class World:
    authority: object
    other_authority: object
    municipality: object
    other_municipality: object
    caseworker: object
    other_caseworker: object
    leader: object
    other_leader: object
    gp: object  # the HealthPersonnel the order is about
    other_gp: object  # a HealthPersonnel in the same municipality, with a login
    supervisor: (
        object  # a registered HealthPersonnel who supervises; no login until named in a plan
    )

    @property
    def gp_user(self):
        return self.gp.user

    @property
    def other_gp_user(self):
        return self.other_gp.user


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """The world's rows built once per test module, inside a transaction rolled back when the
    module ends; each test's own transaction is a savepoint in it, so what a test writes is
    gone for the next as before. Building it took some 70 queries per test. A module with a
    transactional test builds it per test instead (a flush cannot run inside a transaction)."""
    from tests.probe_world import rolled_back

    items = [i for i in request.session.items if getattr(i, "module", None) is request.module]
    if any(is_transactional(i) for i in items):
        yield None
        return
    with rolled_back(django_db_blocker, tmp_path_factory):
        yield make_world()


@pytest.fixture
def world(_module_world, db):
    """The world, as each test's own: a copy of the module's rows' objects, so that what a
    test changes on them (in memory; in the database its savepoint is rolled back) does not
    reach the next test, as Django's TestCase.setUpTestData does."""
    if _module_world is None:
        return make_world()
    return copy.deepcopy(_module_world)


def make_world():
    """The world's rows, for a fixture of a wider scope that builds it once (its own
    transaction around it, as tests/orders/test_query_counts.py's case-page world has)."""
    authority = factories.AuthorityFactory(name="Statsforvalteren i Vestland")
    other_authority = factories.AuthorityFactory(name="Statsforvalteren i Trøndelag")
    municipality = factories.MunicipalityFactory(number="4601", name="Bergen", authority=authority)
    other_municipality = factories.MunicipalityFactory(
        number="5001", name="Trondheim", authority=other_authority
    )
    return World(
        authority=authority,
        other_authority=other_authority,
        municipality=municipality,
        other_municipality=other_municipality,
        caseworker=factories.caseworker_for(authority, username="saksbehandler"),
        other_caseworker=factories.caseworker_for(other_authority, username="annen.saksbehandler"),
        leader=factories.leader_for(municipality, username="leder"),
        other_leader=factories.leader_for(other_municipality, username="annen.leder"),
        gp=factories.HealthPersonnelFactory(
            municipality=municipality,
            hpr_number="9000001",
            user=factories.UserFactory(username="lege"),
        ),
        other_gp=factories.HealthPersonnelFactory(
            municipality=municipality,
            hpr_number="9000002",
            user=factories.UserFactory(username="annen.lege"),
        ),
        supervisor=factories.HealthPersonnelFactory(
            municipality=municipality,
            hpr_number="9000009",
            name="Kari Veileder",
            user=None,
        ),
    )


@snapshot_fixture
def order(world):
    return factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1234
    )


@pytest.fixture
def client_for(client):
    """Log the test client in as a user: ``client_for(world.leader).get(...)``."""

    def login(user):
        client.force_login(user)
        return client

    return login


# The module-scoped world with two of everything (tests/test_every_url.py, test_form_fuzz.py).
from tests.probe_world import probe_world  # noqa: E402, F401


@pytest.fixture
def operator(db):
    """An operator (Drift): a superuser, as `manage.py createsuperuser` makes one."""
    return factories.UserFactory(
        username="drift", first_name="Dina", last_name="Drift", is_superuser=True, is_staff=True
    )


@pytest.fixture
def operator_client(client, operator):
    """The test client as the operator, past the two-factor step (tests/two_factor.py)."""
    from tests.two_factor import verified_login

    verified_login(client, operator)
    return client
