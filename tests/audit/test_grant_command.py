"""`manage.py grant_runtime_role` where there are no roles, and the role it names by default.
(What it grants on PostgreSQL: test_runtime_role.py.)"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection


def grant(*args):
    out = StringIO()
    call_command("grant_runtime_role", *args, stdout=out)
    return out.getvalue()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has no roles to grant to")
@pytest.mark.django_db
def test_on_sqlite_there_is_nothing_to_grant():
    assert "The database is sqlite, which has no roles: nothing to grant." in grant("anyone")


def test_the_default_role_is_the_setting(settings):
    settings.DB_RUNTIME_ROLE = "palegg_app"

    assert grant("--print-role").strip() == "palegg_app"


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_without_the_setting_the_default_role_is_the_user_in_database_url(settings):
    settings.DB_RUNTIME_ROLE = ""
    settings.DATABASES = {**settings.DATABASES}
    settings.DATABASES["default"] = {**settings.DATABASES["default"], "USER": "palegg_web"}

    assert grant("--print-role").strip() == "palegg_web"


def test_a_named_role_comes_first(settings):
    settings.DB_RUNTIME_ROLE = "palegg_app"

    assert grant("palegg_other", "--print-role").strip() == "palegg_other"
