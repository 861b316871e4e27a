"""The suite's settings: the product's own (config/settings.py) in development mode.

pytest-django loads this module (pyproject's DJANGO_SETTINGS_MODULE) before any conftest, so the
switch is set before config.settings reads it. The suite runs its servers over plain http on
loopback and keeps the generated secret; subprocesses the tests start inherit the switch.
Tests of the production settings start their own processes with an environment of their own
(tests/test_serving.py)."""

import os

os.environ.setdefault("PALEGG_DEVELOPMENT", "1")

from config.settings import *  # noqa: E402, F403
