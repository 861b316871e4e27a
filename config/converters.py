"""URL converters: every path parameter has a shape, and anything else is simply not found
(404) before it reaches a view or the database (where a NUL byte, say, is a 500 on
PostgreSQL)."""


class DatabaseId:
    """A primary key that fits a 64-bit column: a longer number is simply not found (404),
    where ``int`` would pass it to the database and fail with a 500."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


class MunicipalityNumber:
    """Kommunenummer: four digits, kept as text (0301 is Oslo)."""

    regex = "[0-9]{4}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


class InvitationToken:
    """An invitation link's token: URL-safe base64 of 32 random bytes (43 characters); with
    room for a longer one, but nothing that is not base64url."""

    regex = "[A-Za-z0-9_-]{20,100}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


class OIDCProvider:
    """The name of a configured OpenID Connect provider (settings.OIDC_PROVIDERS, read at
    each request): a name that is not configured is simply not found."""

    regex = "[a-z][a-z0-9-]{0,49}"

    def to_python(self, value):
        from django.conf import settings

        if value not in settings.OIDC_PROVIDERS:
            raise ValueError(value)
        return value

    def to_url(self, value):
        return str(value)


class PasswordResetUser:
    """The user's id in a password reset link, in URL-safe base64 (Django's uidb64)."""

    regex = "[0-9A-Za-z_-]{1,24}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


class PasswordResetToken:
    """A password reset token (timestamp-hash), or the word Django puts in its place once the
    token has been moved into the session."""

    regex = "[0-9a-z]{1,13}-[0-9a-f]{20,64}|set-password"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)
