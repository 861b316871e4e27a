"""Several nodes behind one address keep nothing a later request needs on their own machine:
the session and the cache (OpenID Connect's spent login states, the providers' keys) are rows
in the shared database, so the next request may go to any node."""

from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection

CACHE_TABLE = "palegg_cache"


def test_the_cache_is_a_table_in_the_shared_database(db):
    cache.set("oidc:spent-state:probe", True, 60)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {CACHE_TABLE} WHERE cache_key LIKE %s", ["%spent-state:probe"]
        )
        assert cursor.fetchone()[0] == 1


def test_a_login_session_is_a_row_in_the_shared_database(client_for, world):
    client = client_for(world.leader)
    assert client.get("/").status_code in (200, 302)
    assert Session.objects.filter(session_key=client.session.session_key).exists()
