"""Settings for Pålegg, read from the environment with safe development defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state (the SQLite database, uploaded evidence, the generated dev secret) lives
# under var/, which is outside the web root and outside version control.
VAR_DIR = Path(os.environ.get("PALEGG_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a random key kept per checkout (never committed)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
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
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "simple_history",
    "viewflow",
    "viewflow.workflow",
    "pgtrigger",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "audit",
    "municipalities",
    "courses",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
                "orders.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
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
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True

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
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES")
CSRF_COOKIE_SECURE = _env_bool("SECURE_COOKIES")
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
        "label": "Log in with HelseID",
        "min_security_level": 4,
    },
    # ID-porten: level "high" (BankID, Buypass, Commfides) asked for and then required.
    "idporten": {
        "scopes": "openid profile",
        "label": "Log in with ID-porten",
        "acr_values": "idporten-loa-high",
    },
    "entra": {"scopes": "openid profile email", "label": "Log in with Microsoft Entra ID"},
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# The database guards its own log (issue 12): the runtime role (the user in DATABASE_URL) does not
# own the tables; `make migrate` runs migrations as DATABASE_OWNER_URL's user and then grants this
# role its privileges (`manage.py grant_runtime_role`). `verify_audit --anchor` appends the chain's
# newest link to this file, outside the database, and checks the chain against earlier lines.
DB_RUNTIME_ROLE = os.environ.get("PALEGG_DB_RUNTIME_ROLE", "")
AUDIT_ANCHOR_FILE = os.environ.get("PALEGG_AUDIT_ANCHOR_FILE", "")
