"""The suite's settings: the product's own (config/settings.py) in development mode.

pytest-django loads this module (pyproject's DJANGO_SETTINGS_MODULE) before any conftest, so the
switch is set before config.settings reads it. The suite runs its servers over plain http on
loopback and keeps the generated secret; subprocesses the tests start inherit the switch.
Tests of the production settings start their own processes with an environment of their own
(tests/test_serving.py)."""

import os

os.environ.setdefault("PALEGG_DEVELOPMENT", "1")

from config.settings import *  # noqa: E402, F403

# On PostgreSQL the suite's sessions do not wait for each commit to reach the disk: the
# tests that commit (migrations building each worker's database, the transactional tests in
# autocommit) would otherwise wait for an fsync per statement. A crash loses only a test run.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = f"{_options.get('options', '')} -c synchronous_commit=off".strip()
