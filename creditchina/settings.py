"""Settings for the credit disclosure site, read from the environment.

Every value comes from an environment variable read through a strict helper: a value that
cannot be understood is an error at start-up, never a silent default. With ``DEBUG`` off the
site refuses to start without a ``SECRET_KEY``.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "disclosure",
    "repair",
    "ops",
    "axes",
    "csp",
    "intake",
    "reports",
    "notices",
]

MIDDLEWARE = [
    "ops.logs.RequestIdMiddleware",
    # Where the request reads (a replica for public reads): before anything that reads.
    "ops.replicas.ReadRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Kept public pages, served before the layers below (disclosure.pagecache).
    "disclosure.middleware.KeptPageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "disclosure.middleware.ApiLanguageMiddleware",
    "ops.uploads.UploadLimitMiddleware",
    "ops.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ops.logs.AccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
    "ops.middleware.PermissionsPolicyMiddleware",
]

ROOT_URLCONF = "creditchina.urls"
WSGI_APPLICATION = "creditchina.wsgi.application"

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
                "disclosure.context_processors.languages",
            ],
        },
    },
]

# SQLite under var/ is the embedded default, so a new user needs nothing installed;
# production and CI point DATABASE_URL at PostgreSQL.
VAR_DIR.mkdir(exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not understood: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    # A health check is a round trip before each request's first query: a fifth of a worker's
    # time on the entity page under load (bench/README.md). Without it, a connection that
    # PostgreSQL dropped fails one request in its worker, and the next one reconnects.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)

# Read replicas (PostgreSQL streaming replicas of the primary): one URL each, comma-separated.
# Public reads go to a healthy replica, everything else to the primary (ops/replicas.py,
# creditchina/routers.py). A replica that does not answer, or has not replayed what the
# primary committed more than REPLICA_MAX_LAG_SECONDS ago, is left aside until a later check
# (at most every REPLICA_CHECK_SECONDS per process) finds it fit again.
DATABASE_REPLICAS = []
_replica_urls = os.environ.get("DATABASE_REPLICA_URLS", "").strip()
for _number, _url in enumerate(_replica_urls.split(",") if _replica_urls else [], start=1):
    if not _url.strip():
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS: replica {_number} is empty (a stray comma?).")
    try:
        _replica = dj_database_url.parse(_url.strip(), conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS: replica {_number} is not understood: {exc}") from None
    if "postgresql" not in _replica["ENGINE"] or _replica["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS: replica {_number} is not PostgreSQL, or the primary (DATABASE_URL) is not: "
            "read replicas are PostgreSQL streaming replicas of the primary."
        )
    _replica["CONN_HEALTH_CHECKS"] = DATABASES["default"].get("CONN_HEALTH_CHECKS", False)
    # A replica that is down must not hold a request for long before the site falls back.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Tests: the test database is made on the primary and reaches the replica by replication;
    # the replica connects to it under the same name and is never created or flushed.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
DATABASE_ROUTERS = ["creditchina.routers.PrimaryReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 10)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 5)
# After a state-changing request (a form sent, a sign-in), the browser reads from the primary
# for this long, so it sees what it has just done even when a replica is a moment behind.
READ_YOUR_WRITES_SECONDS = env_int("READ_YOUR_WRITES_SECONDS", 15)
for _name in ("REPLICA_MAX_LAG_SECONDS", "REPLICA_CHECK_SECONDS", "READ_YOUR_WRITES_SECONDS"):
    if not 0 <= globals()[_name] <= 3600:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} is out of range: 0 to 3600 seconds.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
_media_root = env_str("MEDIA_ROOT", str(VAR_DIR / "private"))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": _media_root},
    },
    # Intake files waiting: those departments' systems send, until the intake worker has run
    # them, and batches awaiting a second clerk's release (under ``intake/``). Every process
    # that submits or runs batches (gunicorn, the workers) must see the same files.
    "intake": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env_str("INTAKE_FILES_ROOT", _media_root)},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
WHITENOISE_USE_FINDERS = DEBUG

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The parts of every page that only change with the language and a deployment (the
    # navigation, the footer): kept in each process, where reading them costs less than one
    # round trip to a shared cache.
    "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}
# The rate limits and the guard on query-code guesses count in the default cache. In memory,
# each gunicorn worker would keep counts of its own and a client would get (workers × limit):
# with DEBUG off the site needs a cache its processes share, unless the deployment says it is
# one process (SINGLE_PROCESS=1: the test suite, a single-worker trial). Both Redis caches
# use Django's backend with one client per connection pool (creditchina/cache.py).
REDIS_URL = env_str("REDIS_URL")
SINGLE_PROCESS = env_bool("SINGLE_PROCESS", False)
if REDIS_URL:
    CACHES["default"] = {"BACKEND": "creditchina.cache.RedisCache", "LOCATION": REDIS_URL}
elif not DEBUG and not SINGLE_PROCESS:
    raise ImproperlyConfigured(
        "REDIS_URL must be set when DEBUG is off: the rate limits count in the cache, and without a "
        "shared one each gunicorn worker counts on its own (SINGLE_PROCESS=1 if the site runs as one process)."
    )

# The shared page cache (disclosure.pagecache): public pages and API answers, dropped by the
# writes when they commit. Only in a cache every process shares (a page one process kept
# must be dropped by a write another one makes): PAGE_CACHE_URL, or the REDIS_URL cache;
# without one the pages are read from the database every time, as they always were.
# PAGE_CACHE=0 turns it off. PAGE_CACHE_RELEASE names what a kept page was made with; by
# default a digest of the templates, translations and code, so a deployment starts afresh.
PAGE_CACHE_URL = env_str("PAGE_CACHE_URL", REDIS_URL)
if PAGE_CACHE_URL and env_bool("PAGE_CACHE", True):
    CACHES["pages"] = {
        "BACKEND": "creditchina.cache.RedisCache",
        "LOCATION": PAGE_CACHE_URL,
        "KEY_PREFIX": "pages",
    }
PAGE_CACHE_RELEASE = env_str("PAGE_CACHE_RELEASE", "")
# How long a reader trusts the page cache's tokens before one reader (site-wide) looks for
# renewals a write could not make while the cache was unreachable (disclosure.pagecache):
# the longest another process can serve a page such a write changed after the cache answers
# again; one query of the database each this many seconds, for the whole site.
PAGE_CACHE_LEASE_SECONDS = env_int("PAGE_CACHE_LEASE_SECONDS", 1)
if not 1 <= PAGE_CACHE_LEASE_SECONDS <= 3600:
    raise ImproperlyConfigured(f"PAGE_CACHE_LEASE_SECONDS={PAGE_CACHE_LEASE_SECONDS} is out of range: 1 to 3600 seconds.")

# The console backend writes every mail, with the applicant's query code, into the server's
# log: for development only.
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", CONSOLE_EMAIL_BACKEND if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
if not DEBUG and EMAIL_BACKEND == CONSOLE_EMAIL_BACKEND:
    raise ImproperlyConfigured(
        "EMAIL_BACKEND cannot be the console backend when DEBUG is off: it would print query codes into the log."
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@creditchina.example")

# Every page, the API docs included, loads only from this site, and runs no inline script
# (the pages have none; the docs are served by views that load theirs from files). Only the
# docs pages allow inline styles, which Swagger UI and ReDoc write as they render
# (disclosure/api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    }
}
# Features no page of this site uses, refused to the page and anything it might embed.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # The site is served over HTTPS only: plain HTTP is redirected, and browsers are told to
    # use nothing else for a year.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health probes come from the proxy or the supervisor over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a proxy that ends TLS, every request reaches Django as plain HTTP: only when the
# deployment says such a proxy is there (and it sets X-Forwarded-Proto itself, overwriting
# the client's) may Django believe the header. Believed without one, any client could claim
# HTTPS.
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGIN_URL = "admin:login"

# Staff sign in at one place (the admin's login, which the reviewer pages send them to).
# django-axes counts failures per account and per address (either one locks) and refuses a
# locked-out sign-in before the password hasher runs, so guessing can neither find a password
# nor burn the CPU the public pages need. The attempts and the lockouts are listed in the
# admin (Axes); deleting an attempt there, or `manage.py axes_reset_username <name>`, unlocks.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ops.clientip.client_ip"
AXES_LOCKOUT_TEMPLATE = "locked_out.html"
AXES_VERBOSE = False

# Per-client limits: far above what a person browsing reaches, low enough to stop bulk
# scraping. Counted in the cache: set REDIS_URL so gunicorn workers share the counts.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_VIEW = "disclosure.views.rate_limited"
# How many reverse proxies of ours stand in front of the site: the client address is read
# from X-Forwarded-For only past that many (ops/clientip.py). 0 trusts no header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} cannot be negative.")
RATELIMIT_IP_META_KEY = "ops.clientip.client_ip"
SEARCH_RATE_LIMIT = env_str("SEARCH_RATE_LIMIT", "60/m")
PAGE_RATE_LIMIT = env_str("PAGE_RATE_LIMIT", "300/m")
# Guessing application numbers and query codes: a person mistypes a few times, no more.
REPAIR_STATUS_RATE_LIMIT = env_str("REPAIR_STATUS_RATE_LIMIT", "10/m")
REPAIR_APPLY_RATE_LIMIT = env_str("REPAIR_APPLY_RATE_LIMIT", "20/h")

# Credit repair. The time limits are the national rules' (working days); they are settings so
# that a change in the rules is a deployment change, not a code change.
REPAIR_ACCEPT_DAYS = env_int("REPAIR_ACCEPT_DAYS", 3)
REPAIR_DECIDE_DAYS = env_int("REPAIR_DECIDE_DAYS", 7)
# The applicant hears back within this many working days of submitting, whatever the
# acceptance took (plus an extension and the time spent supplying material).
REPAIR_OVERALL_DAYS = env_int("REPAIR_OVERALL_DAYS", 10)
REPAIR_EXTENSION_DAYS = env_int("REPAIR_EXTENSION_DAYS", 10)
REPAIR_MATERIAL_DAYS = env_int("REPAIR_MATERIAL_DAYS", 10)
REPAIR_BAR_YEARS = env_int("REPAIR_BAR_YEARS", 3)
REPAIR_MAX_FILE_BYTES = env_int("REPAIR_MAX_FILE_MB", 10) * 1024 * 1024
REPAIR_MAX_FILES = env_int("REPAIR_MAX_FILES", 10)

# A credit service agency whose copy has lacked an event for longer than this is named on the
# public page of late agencies.
AGENCY_LATE_DAYS = env_int("AGENCY_LATE_DAYS", 7)

# One JSON object a line on standard error (the supervisor's journal collects it), each with
# the request's id; plain text for a person at a terminal. Access to non-public data is
# logged at INFO whatever LOG_LEVEL says.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not understood; use json or text.")
# Department data intake (归集). A file larger than this is refused before it is read (the
# upload is streamed to a temporary file and stopped past the limit; a larger Content-Length is
# refused at once). Every refused row is listed in a batch's report up to the second figure.
INTAKE_MAX_UPLOAD_BYTES = env_int("INTAKE_MAX_UPLOAD_MB", 512) * 1024 * 1024
# The largest multipart body any page accepts (ops.uploads): the intake file is the largest.
MAX_UPLOAD_BYTES = INTAKE_MAX_UPLOAD_BYTES
INTAKE_MAX_ERRORS_KEPT = env_int("INTAKE_MAX_ERRORS_KEPT", 100_000)
# From this many new records in a batch, they are written in bulk (intake.bulk): the same rows,
# events and published documents as one service call per record, much faster.
INTAKE_BULK_FROM = env_int("INTAKE_BULK_FROM", 500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {"ops.access": {"level": "INFO"}},
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "disclosure.api.errors.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "public": env_str("API_RATE_LIMIT", "300/min"),
        "agency": env_str("AGENCY_RATE_LIMIT", "600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Public credit disclosure API",
    "DESCRIPTION": "Public lookups (no key) and, for authorized credit service agencies, the disclosed set.",
    "VERSION": "1",
    # Served from this site (drf-spectacular-sidecar): the docs work with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: Swagger UI would fetch it from swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SERVE_INCLUDE_SCHEMA": False,
}

# Credit reports. Each PDF is signed with the key in this PKCS#12 file; without one the site
# refuses to issue reports (never an unsigned one) and `check --deploy` fails. With DEBUG on,
# `manage.py reports_demo_key` (run by `make run`) makes a self-signed demo key here.
REPORT_SIGNING_P12 = env_str("REPORT_SIGNING_P12", str(VAR_DIR / "report-signing-demo.p12") if DEBUG else None)
REPORT_SIGNING_PASSPHRASE = env_str("REPORT_SIGNING_PASSPHRASE", "demo-only" if DEBUG else None)
if env_str("REPORT_SIGNING_P12") and not Path(REPORT_SIGNING_P12).is_file():
    raise ImproperlyConfigured(f"REPORT_SIGNING_P12={REPORT_SIGNING_P12!r} is not a file.")
# A TrueType font (.ttf/.ttc with TrueType outlines) to embed instead of WenQuanYi Micro Hei.
REPORT_FONT = env_str("REPORT_FONT")
# The site's address as printed in reports (the QR code); by default the address the request
# came to.
SITE_URL = env_str("SITE_URL")
REPORT_RATE_LIMIT = env_str("REPORT_RATE_LIMIT", "20/m")
REPORT_VERIFY_RATE_LIMIT = env_str("REPORT_VERIFY_RATE_LIMIT", "30/m")
REPORT_MAX_UPLOAD_BYTES = env_int("REPORT_MAX_UPLOAD_MB", 20) * 1024 * 1024

# Key used to fingerprint natural persons' identity numbers so they can be matched
# without being stored in the clear. Defaults to SECRET_KEY; set it separately in production
# so that rotating SECRET_KEY does not orphan the fingerprints.
IDENTITY_HASH_KEY = env_str("IDENTITY_HASH_KEY", SECRET_KEY)
