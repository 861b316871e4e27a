"""Fixtures whose rows are built once per test module and put back for each test that asks.

A case taken through its steps by the services costs hundreds of queries and the flow engine's
work; hundreds of tests each start from such a case. A fixture declared with
:func:`snapshot_fixture` is built through the services as before, but only by the first test
of a module that asks for it: the rows it wrote (inserted, changed and removed, in every
table the models know), the documents it stored and the mail it sent are recorded, the
build is rolled back, and that test and every later one get the recorded rows written back
directly, with a copy of the objects the build returned. Each test still runs in its own
savepoint, so what it does is gone for the next.

What a builder may ask for: ``world``, ``db`` and other snapshot fixtures, nothing else, so
that every row it writes refers only to rows that are the same in every test of the module.
What it may do: write rows, store documents and send mail. Anything else it would change (a
setting, the clock, a logged-in test client) is not there in the tests that get the
snapshot, so such a fixture stays a plain one.

Snapshots are used only where each test starts from the same database: in modules whose
world is built once (tests/conftest.py, ``_module_world``), by tests that are not
transactional, when the database holds as many rows in each table as it did when the
snapshot was taken, and on the same day. Anywhere else the builders simply run, as plain
fixtures would.
"""

import copy
import inspect
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.db.models.sql import DeleteQuery
from django.test import Client
from django.utils import timezone

from audit.models import ChainHead

# What a builder may take besides other snapshot fixtures.
ALLOWED_ARGUMENTS = {"world", "db"}

_NAMES: set[str] = set()  # the names snapshot fixtures are declared with, in any module
_CACHE: dict[tuple, "Snapshot"] = {}


def snapshot_fixture(function):
    """Declare a function-scoped fixture built once per module (see the module docstring)."""
    name = function.__name__
    arguments = list(inspect.signature(function).parameters)
    unknown = [a for a in arguments if a not in ALLOWED_ARGUMENTS and a not in _NAMES]
    if unknown:
        raise TypeError(
            f"snapshot fixture {name} takes {unknown}: a builder may take only "
            f"{sorted(ALLOWED_ARGUMENTS)} and snapshot fixtures declared before it"
        )
    _NAMES.add(name)

    def fixture(request, **_resolved):
        return _state(request).value(name)

    fixture.snapshot_builder = (function, arguments)

    # pytest reads the arguments from the signature: the builder's, so that the snapshot
    # fixtures it builds on (and the world) are in every asking test's closure.
    fixture.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(a, inspect.Parameter.POSITIONAL_OR_KEYWORD) for a in arguments]
    )
    fixture.__name__ = name
    fixture.__doc__ = function.__doc__
    return pytest.fixture(name=name)(fixture)


# ---------------------------------------------------------------------------- the rows


def _models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]


def _fields(model):
    return model._meta.local_concrete_fields


def _dump(models) -> dict:
    """Every row of every table, by primary key, as the fields' Python values."""
    rows = {}
    for model in models:
        fields = _fields(model)
        pk_index = fields.index(model._meta.pk)
        rows[model] = {
            row[pk_index]: row
            for row in model._base_manager.values_list(*(f.attname for f in fields))
        }
    return rows


def _counts(models) -> tuple:
    """How many rows each table has, in one query."""
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT {i}, COUNT(*) FROM {quote(model._meta.db_table)}" for i, model in enumerate(models)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(count for _, count in sorted(cursor.fetchall()))


@dataclass
class Changes:
    inserted: dict = field(default_factory=dict)  # model -> [row]
    updated: dict = field(default_factory=dict)  # model -> [row]
    deleted: dict = field(default_factory=dict)  # model -> [pk]

    @classmethod
    def between(cls, before, after):
        changes = cls()
        for model, rows in after.items():
            old = before[model]
            inserted = [row for pk, row in rows.items() if pk not in old]
            updated = [row for pk, row in rows.items() if pk in old and old[pk] != row]
            deleted = [pk for pk in old if pk not in rows]
            if inserted:
                changes.inserted[model] = inserted
            if updated:
                changes.updated[model] = updated
            if deleted:
                changes.deleted[model] = deleted
        return changes

    def write(self):
        """Write the rows back as they were: no save(), signals or history of our own (the
        history rows the build wrote are among the rows). Constraints between tables are
        checked at commit, so the order of tables does not matter, except the access log's
        head, which may only point at an event that is already there."""
        for model in sorted(self.inserted, key=lambda m: m is ChainHead):
            fields = _fields(model)
            names = [f.attname for f in fields]
            objs = [model.from_db(connection.alias, names, row) for row in self.inserted[model]]
            size = connection.ops.bulk_batch_size(fields, objs) or len(objs)
            for start in range(0, len(objs), size):
                model._base_manager._insert(objs[start : start + size], fields=fields, raw=True)
        for model, rows in self.updated.items():
            fields = _fields(model)
            for row in rows:
                values = dict(zip(fields, row, strict=True))
                pk = values.pop(model._meta.pk)
                # _update, not update(): the history guards (audit.guards) refuse update(),
                # and the rows written here are the ones the services wrote, history and all.
                model._base_manager.filter(pk=pk)._update(
                    [(f, None, value) for f, value in values.items()]
                )
        for model, pks in self.deleted.items():
            DeleteQuery(model).delete_batch(pks, connection.alias)


def _files(root: Path) -> set:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@dataclass
class Snapshot:
    changes: Changes
    frozen: dict  # name -> object, "world" -> the world, as the build left them
    mails: list
    files: Path | None  # the documents the build stored, under their relative paths

    def restore(self):
        self.changes.write()
        if self.files is not None:
            shutil.copytree(self.files, Path(settings.MEDIA_ROOT), dirs_exist_ok=True)
        mail.outbox.extend(copy.deepcopy(self.mails))
        return copy.deepcopy(self.frozen)


# --------------------------------------------------------------------------- per test


def is_transactional(item) -> bool:
    """Whether a test commits (and so flushes the database after): it gets no module world."""
    marker = item.get_closest_marker("django_db")
    by_marker = marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    return bool(by_marker) or bool(
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
    )


class _TestState:
    """The snapshot fixtures of one test: all of them built or restored together, the first
    time one is asked for, so that objects shared between them stay shared."""

    def __init__(self, request):
        self.request = request
        # The builders this test's fixtures resolve to (two modules may each have a "case").
        definitions = request.node._fixtureinfo.name2fixturedefs
        self.builders = {
            name: definitions[name][-1].func.snapshot_builder
            for name in request.fixturenames
            if name in _NAMES and hasattr(definitions[name][-1].func, "snapshot_builder")
        }
        self.names = list(self.builders)
        self.values = None

    def value(self, name):
        if self.values is None:
            self.values = self._obtain()
        if name not in self.values:
            raise LookupError(
                f"snapshot fixture {name} was asked for during the test: name it among the "
                "test's arguments so that it is built with the others"
            )
        return self.values[name]

    def _obtain(self):
        request = self.request
        world = request.getfixturevalue("world") if self._needs("world") else None
        if not self._cacheable():
            return self._build(world)
        models = _models()
        key = (
            request.node.module.__name__,
            tuple(sorted(self.names)),
            _counts(models),
            timezone.localdate(),
        )
        snapshot = _CACHE.get(key)
        if snapshot is None:
            snapshot = _CACHE[key] = self._record(world, models)
        values = snapshot.restore()
        built_world = values.pop("world")
        if world is not None:
            # The test's own world object, as the build left it (a builder may have set
            # something on one of its people).
            world.__dict__.update(built_world.__dict__)
        return values

    def _needs(self, argument):
        return any(argument in arguments for _, arguments in self.builders.values())

    def _cacheable(self):
        return not is_transactional(self.request.node) and (
            self.request.getfixturevalue("_module_world") is not None
        )

    def _build(self, world):
        values = {}
        pending = list(self.names)
        while pending:
            for name in pending:
                function, arguments = self.builders[name]
                if all(a in values or a in ALLOWED_ARGUMENTS for a in arguments):
                    kwargs = {
                        a: values[a] if a in values else self._plain(a, world) for a in arguments
                    }
                    values[name] = function(**kwargs)
                    pending.remove(name)
                    break
            else:
                raise RuntimeError(f"snapshot fixtures depend on each other in a circle: {pending}")
        return values

    def _plain(self, argument, world):
        return world if argument == "world" else self.request.getfixturevalue(argument)

    def _record(self, world, models):
        media = Path(settings.MEDIA_ROOT)
        files_before = _files(media)
        mails_before = len(mail.outbox)
        before = _dump(models)
        savepoint = transaction.savepoint()
        try:
            values = self._build(world)
            changes = Changes.between(before, _dump(models))
            frozen = copy.deepcopy({**values, "world": world})
            mails = copy.deepcopy(mail.outbox[mails_before:])
        finally:
            transaction.savepoint_rollback(savepoint)
        del mail.outbox[mails_before:]
        stored = sorted(_files(media) - files_before)
        files = None
        if stored:
            files = self.request.getfixturevalue("tmp_path_factory").mktemp("snapshot-documents")
            for relative in stored:
                (files / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(media / relative, files / relative)
        return Snapshot(changes=changes, frozen=frozen, mails=mails, files=files)


def _state(request) -> _TestState:
    node = request.node
    state = getattr(node, "_snapshot_state", None)
    if state is None:
        state = node._snapshot_state = _TestState(request)
    return state


@pytest.fixture(scope="module", autouse=True)
def _forget_snapshots(request):
    """A module's snapshots refer to its world's rows: gone with them."""
    yield
    module = request.module.__name__
    for key in [k for k in _CACHE if k[0] == module]:
        del _CACHE[key]


def client_for_builders():
    """``client_for`` for a builder, which may not take that fixture: one test client that logs
    in whoever it is given. The sessions it makes are rows like any other."""
    client = Client()

    def login(user):
        client.force_login(user)
        return client

    return login
