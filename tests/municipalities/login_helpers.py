"""Logging in through the login form, as a person does, and reading what the access log said."""

from django.contrib.auth import SESSION_KEY

from audit import chain
from audit.models import AccessEvent
from tests.factories import PASSWORD

LOGIN = "/logg-inn/"


def log_in(client, username, password=PASSWORD, address="127.0.0.1", **data):
    return client.post(
        LOGIN, {"username": username, "password": password, **data}, REMOTE_ADDR=address
    )


def logged_in_as(client):
    return client.session.get(SESSION_KEY)


def last_sequence() -> int:
    return AccessEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def events_since(before, *actions):
    events = AccessEvent.objects.filter(sequence__gt=before).order_by("sequence")
    if actions:
        events = events.filter(action__in=actions)
    return [(e.action, e.outcome, e.target_type, e.target_id, e.detail) for e in events]


def assert_chain_holds_and_no_password(*passwords):
    report = chain.verify()
    assert report.broken is None, str(report.broken)
    for event in AccessEvent.objects.all():
        content = str(chain.content_of(event))
        for password in passwords:
            assert password not in content, f"a password in access event {event.sequence}"
