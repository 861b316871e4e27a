"""Settings for Pålegg, read from the environment with safe development defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state (the SQLite database, uploaded evidence, the generated dev secret) lives
# under var/, which is outside the web root and outside version control.
VAR_DIR = Path(os.environ.get("PALEGG_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


# Development mode (`make run`, `make oidc-demo`, the test suite): plain http on loopback and a
# generated secret. Off unless asked for, so a server that is missing a setting either refuses
# to start or is secure (the block "Serving on the internet" at the end).
DEVELOPMENT = _env_bool("PALEGG_DEVELOPMENT")


def _secret_key() -> str:
    """SECRET_KEY from the environment. Only in development mode may it be missing: then a
    random key kept per checkout (never committed). A server without one refuses to start: a
    generated key would differ per machine and go with var/, ending every session and link."""
    if key := os.environ.get("SECRET_KEY", "").strip():
        return key
    if not DEVELOPMENT:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment to a long random value (e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), kept secret and "
            "the same on every server; or set PALEGG_DEVELOPMENT=1 for a local development server."
        )
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    # The operators' admin site (config/admin.py) in place of django.contrib.admin's default.
    "config.apps.OperatorsAdminConfig",
    "whitenoise.runserver_nostatic",
    # Django's staticfiles, with viewflow's unused front end left out of collectstatic.
    "config.apps.StaticFiles",
    "guardian",
    "simple_history",
    "viewflow",
    "viewflow.workflow",
    "pgtrigger",
    # Only for its system checks (e.g. settings left in django-csp 3's format).
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "audit",
    "municipalities",
    "courses",
    "orders",
    # The pages that cut across the apps above (web/__init__.py).
    "web",
    # Last: backups and their restore drill read every other app's data; nothing imports it.
    "backups",
]

MIDDLEWARE = [
    # First: the load balancer's /helse/ is answered before anything redirects it to https,
    # checks its Host header, reads a session or logs it (config/health.py).
    "config.health.HealthCheckMiddleware",
    # Then: everything after it (the address lockout, the access log) sees the browser's address.
    "config.middleware.ProxyClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Next to SecurityMiddleware and before whitenoise, so static files carry the headers too.
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After static files (not logged), before everything that can refuse a request (CSRF,
    # sessions, two-factor), so each refusal has its request_finished line and request id.
    "config.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: their saved language, else the cookie (LanguageMiddleware).
    "config.middleware.LanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # After the user is known: end a session that is idle or too old, then hold a password
    # session of an administrator or security officer at the two-factor step.
    "municipalities.middleware.SessionLifetimeMiddleware",
    "municipalities.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "audit.middleware.AuditFailureMiddleware",
    # Last, as django-axes asks: turns a refused (locked) login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        # A worker keeps its connection between requests: opening one (TCP, authentication,
        # a new PostgreSQL backend) cost more than most pages' queries, and halved the
        # throughput under load (bench/load.py). A connection is checked before it is reused
        # after an error or a database restart (health checks), and closed after this long.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer at a time. A transaction that takes the write lock when it begins
    # (IMMEDIATE) waits its turn; a deferred one that reads first and then writes fails at
    # once with "database is locked" when another writer got in between. The timeout is how
    # long a turn is waited for before the page says someone else is saving.
    _sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    _sqlite_options.setdefault("transaction_mode", "IMMEDIATE")
    _sqlite_options.setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "municipalities.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses any password, right or wrong, for a locked account or address.
    "municipalities.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Guardian's anonymous user would be a real row that could be granted rights; we want none.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "orders:my_tasks"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "nb"
# Both written standards of Norwegian (språklova: state bodies offer bokmål and nynorsk), and
# English. Each user's own choice is kept on their profile (municipalities.User.language).
LANGUAGES = [
    ("nb", _("Norwegian Bokmål")),
    ("nn", _("Norwegian Nynorsk")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One Norwegian date style everywhere: «1. desember 2026», «1. desember 2026 kl. 08.42»
# (config/formats); thousands grouped with a space where a template asks (|intcomma).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
# In development mode files are looked up per request instead of listed when the middleware
# starts: the listing walks every app's static files (viewflow ships thousands) and took
# 60 ms for each new handler, which the test client makes per test. A server (DEVELOPMENT
# off) serves what collectstatic wrote, listed once per worker.
WHITENOISE_AUTOREFRESH = DEVELOPMENT

# Evidence documents are private: stored under var/, never under STATIC_ROOT or a served URL.
MEDIA_ROOT = Path(os.environ.get("PALEGG_DOCUMENT_ROOT", VAR_DIR / "documents"))
# Evidence is never served by URL: downloads go through orders.views.download_document, which
# asks the access module and logs the read. A host that does not exist means nothing (not even
# the test server's media handler) maps a request path onto MEDIA_ROOT.
MEDIA_URL = "https://evidence-not-served.invalid/"
EVIDENCE_MAX_BYTES = int(os.environ.get("PALEGG_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Django's database sessions; a cookie that is not a session key never reaches the database.
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "palegg@localhost")

PAGE_SIZE = 25

# Login. Local accounts (user name and password) only where the deployment allows them; on in
# the demo. Administrators and security officers who log in with a password must use TOTP.
LOCAL_ACCOUNTS = _env_bool("PALEGG_LOCAL_ACCOUNTS", True)
# An invitation link works once, for this many days.
INVITATION_DAYS = int(os.environ.get("PALEGG_INVITATION_DAYS", 7))
# A session ends after this long without a request, and in any case this long after login.
SESSION_IDLE_MINUTES = int(os.environ.get("PALEGG_SESSION_IDLE_MINUTES", 30))
SESSION_MAX_HOURS = int(os.environ.get("PALEGG_SESSION_MAX_HOURS", 10))
# municipalities.middleware.SessionLifetimeMiddleware enforces both; the stored session (and
# its cookie, where the browser keeps one) need not outlive the longest login.
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600

# No way in by guessing (django-axes): an account is locked after this many failed logins, an
# address after its own (higher: many people share an office's address) number, counted
# separately (municipalities.lockout.LockoutHandler). It opens again after the cool-off, or when
# an administrator of the person's authority opens it.
AXES_FAILURE_LIMIT = int(os.environ.get("PALEGG_LOCKOUT_FAILURES", 10))
LOCKOUT_ADDRESS_FAILURES = int(os.environ.get("PALEGG_LOCKOUT_ADDRESS_FAILURES", 50))
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_HANDLER = "municipalities.lockout.LockoutHandler"
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("PALEGG_LOCKOUT_MINUTES", 30)))
# Attempts while locked do not push the opening further away, and are not counted again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful login forgets the person's own earlier mistakes (from that address only).
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "municipalities.lockout.lockout_response"
# Logins are in our own access log (hash chain); axes keeps only its failure counters, and
# never the password, the CSRF token or the user name in its copy of the form.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken", "username"]
AXES_VERBOSE = False
# The address is REMOTE_ADDR, as in the access log (django-ipware is not installed).

# Two-factor (django-otp): the issuer shown in the authenticator app; wrong codes are slowed
# down by django-otp's own throttling (each failure doubles the wait).
OTP_TOTP_ISSUER = "Pålegg"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Password reset links work this long.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# OpenID Connect providers (municipalities/oidc.py), named in PALEGG_OIDC_PROVIDERS; each
# one's settings come from PALEGG_OIDC_<NAME>_*. A provider without them fails at startup.
OIDC_KINDS = {
    # HelseID: health personnel; the HPR number and the assurance level come as claims.
    # Norsk helsenett's HelseID requires private_key_jwt (_PRIVATE_KEY_FILE); a client secret
    # is allowed here only so that a local test provider can stand in for it.
    "helseid": {
        "scopes": "openid profile helseid://scopes/hpr/hpr_number "
        "helseid://scopes/identity/security_level",
        "label": gettext_noop("Log in with HelseID"),
        "min_security_level": 4,
    },
    # ID-porten: level "high" (BankID, Buypass, Commfides) asked for and then required.
    "idporten": {
        "scopes": "openid profile",
        "label": gettext_noop("Log in with ID-porten"),
        "acr_values": "idporten-loa-high",
    },
    "entra": {"scopes": "openid profile email", "label": gettext_noop("Log in with Microsoft Entra ID")},
    # Any other OpenID Connect provider the organisation uses: its button needs a _LABEL.
    "generic": {"scopes": "openid profile email", "label": ""},
}


def parse_oidc_providers(environ) -> dict:
    """{name: settings} from the environment; raises ImproperlyConfigured with what is wrong,
    so a half-configured provider stops the server from starting instead of failing at login."""
    import re

    from django.core.exceptions import ImproperlyConfigured

    names = [n.strip() for n in environ.get("PALEGG_OIDC_PROVIDERS", "").split(",") if n.strip()]
    providers = {}
    for name in names:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,49}", name):
            raise ImproperlyConfigured(
                f"PALEGG_OIDC_PROVIDERS: {name!r} is not a provider name (a-z, 0-9, -; "
                "at most 50 characters, starting with a letter)."
            )
        prefix = f"PALEGG_OIDC_{name.upper().replace('-', '_')}_"

        def get(key, default="", prefix=prefix):
            return environ.get(prefix + key, default).strip()

        kind = get("KIND", name if name in OIDC_KINDS else "")
        if kind not in OIDC_KINDS:
            raise ImproperlyConfigured(
                f"{prefix}KIND must be one of {', '.join(OIDC_KINDS)} (got {kind!r})."
            )
        defaults = OIDC_KINDS[kind]
        issuer = get("ISSUER").rstrip("/")
        client_id = get("CLIENT_ID")
        for key, value in (("ISSUER", issuer), ("CLIENT_ID", client_id)):
            if not value:
                raise ImproperlyConfigured(f"{prefix}{key} is required for provider {name!r}.")
        if not re.match(r"https?://", issuer):
            raise ImproperlyConfigured(f"{prefix}ISSUER must be an http(s) URL.")
        secret, key_file = get("CLIENT_SECRET"), get("PRIVATE_KEY_FILE")
        if bool(secret) == bool(key_file):
            raise ImproperlyConfigured(
                f"Provider {name!r}: set exactly one of {prefix}CLIENT_SECRET "
                f"(client_secret_post) and {prefix}PRIVATE_KEY_FILE (private_key_jwt)."
            )
        if key_file and not os.access(key_file, os.R_OK):
            raise ImproperlyConfigured(f"{prefix}PRIVATE_KEY_FILE {key_file!r} cannot be read.")
        label = get("LABEL") or defaults["label"]
        if not label:
            raise ImproperlyConfigured(f"{prefix}LABEL is required for a generic provider.")
        providers[name] = {
            "name": name,
            "kind": kind,
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": secret,
            "private_key_file": key_file,
            "key_id": get("KEY_ID"),
            "scopes": get("SCOPES") or defaults["scopes"],
            "label": label,
            "acr_values": get("ACR_VALUES") or defaults.get("acr_values", ""),
            "min_security_level": defaults.get("min_security_level"),
        }
    return providers


OIDC_PROVIDERS = parse_oidc_providers(os.environ)

# Deadlines and reminders (issue the scheduled command `manage.py run_deadlines` every few minutes).
PLANNING_DAYS = int(os.environ.get("PALEGG_PLANNING_DAYS", 30))
REMINDER_DAYS_BEFORE = int(os.environ.get("PALEGG_REMINDER_DAYS_BEFORE", 3))
ESCALATION_GRACE_DAYS = int(os.environ.get("PALEGG_ESCALATION_GRACE_DAYS", 7))
# The address links in e-mail point to (mail says only that there is something to do).
SITE_URL = os.environ.get("PALEGG_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Access events older than this are moved to a file by `manage.py archive_audit` (and only so).
AUDIT_RETENTION_DAYS = int(os.environ.get("PALEGG_AUDIT_RETENTION_DAYS", 10 * 365))
AUDIT_ARCHIVE_DIR = Path(os.environ.get("PALEGG_AUDIT_ARCHIVE_DIR", VAR_DIR / "audit-archive"))

# Logs (config/logs.py): JSON lines on stderr (journald keeps them under systemd), or
# PALEGG_LOG_FORMAT=console for people reading a terminal. At INFO (the default) each request
# is two lines, request_started and request_finished, with a request id and the URL route,
# never the path, the query string, the address, the user agent or the user.
from config import logs as _logs  # noqa: E402

_logs.configure_structlog()
LOGGING = _logs.logging_config(
    log_format=os.environ.get("PALEGG_LOG_FORMAT", "json").strip().lower(),
    level=os.environ.get("LOG_LEVEL", "INFO").strip().upper(),
)
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# No user id: a pseudonymous identifier of a person, and the access log says who did what.
DJANGO_STRUCTLOG_USER_ID_FIELD = None
# An upstream X-Request-ID is taken only when it is a UUID (config.middleware), not as is.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = False
AXES_CLIENT_STR_CALLABLE = "config.logs.axes_client_str"

# --- Serving on the internet (issue 12): HTTPS only, secure cookies, security headers --------
# Outside development mode every setting here is the secure one, and `manage.py check --deploy
# --fail-level WARNING` passes with SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS and
# PALEGG_PROXY_SSL_HEADER set (tests/test_serving.py). In development mode (plain http on
# loopback) only what needs https is off; the headers and the content policy stay.

# Every http request is sent to https, and browsers are told to use nothing but https for a year
# (also on subdomains). The HSTS preload list is a commitment for the whole domain that is slow
# to undo, so it is the operator's choice (PALEGG_HSTS_PRELOAD=1), and Django's reminder that
# preload is off is silenced until then.
SECURE_SSL_REDIRECT = not DEVELOPMENT
SECURE_HSTS_SECONDS = 0 if DEVELOPMENT else int(os.environ.get("PALEGG_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = _env_bool("PALEGG_HSTS_PRELOAD")
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]


def _proxy_header(variable: str) -> str | None:
    """The request.META key ("HTTP_X_FORWARDED_PROTO") of the header named in ``variable``
    ("X-Forwarded-Proto"): a header the TLS proxy in front sets, overwriting the browser's."""
    import re

    name = os.environ.get(variable, "").strip()
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", name):
        raise ImproperlyConfigured(f"{variable} {name!r} is not a header name.")
    return "HTTP_" + name.upper().replace("-", "_")


# The header saying the browser's request was https.
SECURE_PROXY_SSL_HEADER = (
    (_ssl_header, "https") if (_ssl_header := _proxy_header("PALEGG_PROXY_SSL_HEADER")) else None
)
# The header naming the browser's address (config.middleware.ProxyClientAddressMiddleware),
# believed from these proxies only (the same variable tells gunicorn whom to trust).
PROXY_ADDRESS_HEADER = _proxy_header("PALEGG_PROXY_ADDRESS_HEADER")


def _networks(variable: str, default: str) -> list:
    """Addresses and networks, comma-separated; * is any address (as gunicorn reads it)."""
    import ipaddress

    entries = [a.strip() for a in os.environ.get(variable, default).split(",") if a.strip()]
    if "*" in entries:
        entries = ["0.0.0.0/0", "::/0"]
    try:
        return [ipaddress.ip_network(a, strict=False) for a in entries]
    except ValueError as error:
        raise ImproperlyConfigured(f"{variable}: {error}") from None


FORWARDED_ALLOW_IPS = _networks("PALEGG_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The https origins a form may be posted from (e.g. https://palegg.example), as the browser
# names them in its Origin header.
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# Cookies: sent over https only, out of reach of JavaScript (no script reads the CSRF token;
# forms carry it), and not on cross-site requests other than top-level navigation. Lax, not
# Strict: the OpenID Connect provider sends the browser back to the callback by a cross-site
# redirect, and the login's state and nonce are in the session.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = not DEVELOPMENT
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True

# Case addresses (with their ids) are not sent to other sites, not even the login provider.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from this site only,
# none inline (static/css, static/js), no plugins, no <base> tag, no framing by any site, and
# forms post only here. The OpenID Connect login leaves by a link, not a form.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Permissions-Policy (django-permissions-policy): no page asks for the camera, microphone,
# location, payment, USB and the like, and no framed page may either.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Static files: `collectstatic` writes hashed, compressed copies into STATIC_ROOT and whitenoise
# serves them with far-future caching. In development mode (and so in tests) they come straight
# from static/, with no collectstatic needed.
# (STORAGES["staticfiles"], set with the document storage below.)


# Operators' tools (Drift): the Django admin at PALEGG_ADMIN_PATH, for superusers who have
# logged in through the login page and its two-factor step (config/admin.py). Empty: no
# admin. A path segment is letters, digits and . _ ~ -, so the prefix is never read as a route
# parameter.
def _admin_path(value: str) -> str:
    import re

    from django.core.exceptions import ImproperlyConfigured

    path = value.strip().strip("/")
    if path and not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", path):
        raise ImproperlyConfigured(
            f"PALEGG_ADMIN_PATH {value!r} is not a URL path (segments of letters, digits, "
            ". _ ~ -, separated by /)."
        )
    return f"{path}/" if path else ""


PALEGG_ADMIN_PATH = _admin_path(os.environ.get("PALEGG_ADMIN_PATH", "drift/admin/"))
# History is shown there, never reverted: an earlier version is restored by a new change.
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- Several nodes: shared state and document storage (issue 12) -------------------------
# Nothing a request leaves behind may live on one machine only: sessions are in the database
# (SESSION_ENGINE above), and so is the cache (OpenID Connect's spent login states, the
# providers' discovery documents and keys), in a table made by a migration
# (municipalities 0009), so that a login replayed at another node is still known as a replay.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "palegg_cache",
    }
}


def _document_storage(environ) -> dict:
    """Where evidence documents are kept: PALEGG_STORAGE=filesystem (MEDIA_ROOT, default) or
    s3 (an S3-compatible bucket shared by every node)."""
    from django.core.exceptions import ImproperlyConfigured

    kind = environ.get("PALEGG_STORAGE", "filesystem").strip().lower() or "filesystem"
    if kind == "filesystem":
        # No location: FileSystemStorage reads MEDIA_ROOT (PALEGG_DOCUMENT_ROOT) when used,
        # so a test that points MEDIA_ROOT elsewhere moves the storage with it.
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"PALEGG_STORAGE must be filesystem or s3 (got {kind!r}).")
    bucket = environ.get("PALEGG_S3_BUCKET", "").strip()
    if not bucket:
        raise ImproperlyConfigured("PALEGG_S3_BUCKET is required with PALEGG_STORAGE=s3.")
    encryption = environ.get("PALEGG_S3_SERVER_SIDE_ENCRYPTION", "AES256").strip()
    options = {
        "bucket_name": bucket,
        "endpoint_url": environ.get("PALEGG_S3_ENDPOINT_URL", "").strip() or None,
        "region_name": environ.get("PALEGG_S3_REGION", "").strip() or None,
        # Without keys boto3 finds its own (instance role, AWS_* variables, profile).
        "access_key": environ.get("PALEGG_S3_ACCESS_KEY_ID", "").strip() or None,
        "secret_key": environ.get("PALEGG_S3_SECRET_ACCESS_KEY", "").strip() or None,
        # Private objects and no signed links: every download goes through
        # orders.views.download_document (access check, access log). Should anything ever ask
        # a file for its URL, it gets one at a host that does not exist, as on the filesystem.
        "default_acl": "private",
        "querystring_auth": False,
        "custom_domain": "evidence-not-served.invalid",
        # Evidence is never overwritten: a name taken already gets a new one.
        "file_overwrite": False,
        # Encrypted at rest by the server (AES256, or aws:kms with the bucket's key); "none"
        # leaves it to the bucket's own default, for servers without encryption.
        "object_parameters": (
            {} if encryption.lower() == "none" else {"ServerSideEncryption": encryption}
        ),
        # A download larger than an upload kept in memory is spooled to a temporary file.
        "max_memory_size": FILE_UPLOAD_MAX_MEMORY_SIZE,
    }
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


# run_deadlines works alone (an advisory lock): a mail server that stops answering must not
# hold every later run up, so a connection to it gives up after this many seconds.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 30))
# The file e-mail backend's folder (EMAIL_BACKEND=django.core.mail.backends.filebased.
# EmailBackend): mail kept as files, where a trial run must send nothing.
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]

STORAGES = {
    "default": _document_storage(os.environ),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEVELOPMENT
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# The database guards its own log (issue 12): the runtime role (the user in DATABASE_URL) does not
# own the tables; `make migrate` runs migrations as DATABASE_OWNER_URL's user and then grants this
# role its privileges (`manage.py grant_runtime_role`). `verify_audit --anchor` appends the chain's
# newest link to this file, outside the database, and checks the chain against earlier lines.
DB_RUNTIME_ROLE = os.environ.get("PALEGG_DB_RUNTIME_ROLE", "")
AUDIT_ANCHOR_FILE = os.environ.get("PALEGG_AUDIT_ANCHOR_FILE", "")

# caps: request.capabilities, the user's grants resolved once per request (orders.access), as
# soon as the user and their second factor are known, so everything after asks it.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "config.middleware.CapabilitiesMiddleware",
)
