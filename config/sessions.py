"""Sessions in the database, as Django's own store, but a session cookie that is not shaped
like a session key (Django makes 32 lowercase letters and digits) is no session: it never
reaches the database, where a NUL in it was a 500 on PostgreSQL, also on the error page."""

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

SESSION_KEY = re.compile(r"[a-z0-9]{8,40}")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(key) and SESSION_KEY.fullmatch(key) is not None
