"""Settings for the LedgerFlow schema project, driven by one ``environ.Env``.

``LEDGERFLOW_ENV`` (development, test or production) picks ``config/<env>.env``; real environment
variables always win over the file. With no ``DATABASE_URL`` outside production, the project uses
its embedded PostgreSQL (``ledgerflow/db/embedded.py``).
"""

import logging
import math
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from ledgerflow.db import embedded
from ledgerflow.db.urls import database_config
from ledgerflow.networks import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "test", "production")

env = environ.Env()

LEDGERFLOW_ENV = env.str("LEDGERFLOW_ENV", default="development")
if LEDGERFLOW_ENV not in ENVIRONMENTS:
    raise ImproperlyConfigured(
        f"LEDGERFLOW_ENV is {LEDGERFLOW_ENV!r}; it must be one of {', '.join(ENVIRONMENTS)}."
    )
# production.env is the operator's copy of production.env.example and is optional: a container
# usually gets everything from real environment variables.
_env_file = BASE_DIR / "config" / f"{LEDGERFLOW_ENV}.env"
if _env_file.is_file():
    env.read_env(_env_file, overwrite=False)

IS_PRODUCTION = LEDGERFLOW_ENV == "production"

_TRUE = ("true", "on", "ok", "y", "yes", "1")  # what environ's env.bool reads as true
_FALSE = ("false", "off", "n", "no", "0")


def _from_env(name, default, kind):
    """``name`` read as ``kind`` (``int`` or ``float``, 0 or more, or ``bool``); unset or empty
    gives ``default``. environ would end a bad number in a bare ValueError traceback and read
    any unknown word as false (``DATABASE_POOL=yes-please``), so a value that is not one raises
    ImproperlyConfigured naming the variable, the value and what is expected."""
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    if kind is bool:
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        expected = "true or false"
    else:
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is not None and math.isfinite(value) and value >= 0:
            return value
        expected = "a whole number, 0 or more" if kind is int else "a number, 0 or more"
    raise ImproperlyConfigured(f"{name} is {raw!r}; it must be {expected}.")


if IS_PRODUCTION:
    # A blank value (SECRET_KEY=" ", ALLOWED_HOSTS=",") is as missing as an unset one.
    _given = {
        "SECRET_KEY": env.str("SECRET_KEY", default="").strip(),
        "ALLOWED_HOSTS": [host for host in env.list("ALLOWED_HOSTS", default=[]) if host.strip()],
        "DATABASE_URL": env.str("DATABASE_URL", default="").strip(),
    }
    _missing = [name for name, value in _given.items() if not value]
    if _missing:
        raise ImproperlyConfigured(
            f"Production settings need {', '.join(_missing)} set in the environment "
            "(see config/production.env.example); refusing to start without them."
        )

DEBUG = _from_env("DEBUG", False, bool)
SECRET_KEY = env.str("SECRET_KEY", default="" if IS_PRODUCTION else "insecure-development-key")
ALLOWED_HOSTS = [
    host.strip()
    for host in env.list(
        "ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1"]
    )
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "ledgerflow.apps.LedgerflowAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_linear_migrations",
    "ledgerflow.apps.LedgerflowConfig",
    # After the project app: its runserver (ledgerflow/management) wraps staticfiles' own, and an
    # earlier app's command of the same name wins.
    "django.contrib.staticfiles",
    "ledgerflow.console.apps.ConsoleConfig",
    "accounts",
    "users",
    "orders",
    "indexer",
    "ledgerflow_v2",
    # The admin's models of the v2 tables; no migrations of its own (see its apps.py).
    "ledgerflow_v2.browse.apps.SchemaV2BrowseConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ledgerflow.urls"
WSGI_APPLICATION = "ledgerflow.wsgi.application"
ASGI_APPLICATION = "ledgerflow.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database ------------------------------------------------------------------------------------
# DATABASE_URL is the variable the Rust services read too. Without it (outside production) the
# embedded PostgreSQL under .pgembedded/ is used; manage.py and the test suite start it.
# Set but blank is a mistake (an unfilled template, a typo in a secret's name), never a request
# for the embedded database: that one is for leaving it unset, outside production.
DATABASE_URL = env.str("DATABASE_URL", default="")
if "DATABASE_URL" in env.ENVIRON and not DATABASE_URL.strip():  # env.str reads "" as unset
    raise ImproperlyConfigured(
        f"DATABASE_URL is set but empty ({DATABASE_URL!r}). Set it to "
        "postgres://USER:PASSWORD@HOST:PORT/DATABASE, or unset it (`unset DATABASE_URL`) to use "
        "the embedded PostgreSQL in development and test."
    )
USES_EMBEDDED_DATABASE = not DATABASE_URL
DATABASES = {
    "default": database_config(
        DATABASE_URL or embedded.database_url(BASE_DIR),
        conn_max_age=_from_env("DATABASE_CONN_MAX_AGE", 0, int),
        pool=_from_env("DATABASE_POOL", False, bool),
        pool_min_size=_from_env("DATABASE_POOL_MIN_SIZE", 2, int),
        pool_max_size=_from_env("DATABASE_POOL_MAX_SIZE", 10, int),
        pool_timeout=_from_env("DATABASE_POOL_TIMEOUT", 10.0, float),
        connect_timeout=_from_env("DATABASE_CONNECT_TIMEOUT", 10, int),
    )
}

# `schema_docs` regenerates the committed schema files on throwaway databases it creates and drops
# beside this URL's database; empty means beside DATABASE_URL's. For a DATABASE_URL whose role may
# not CREATE DATABASE (managed PostgreSQL), point it at a server where one may.
LEDGERFLOW_SCRATCH_DATABASE_URL = env.str("LEDGERFLOW_SCRATCH_DATABASE_URL", default="")
LEDGERFLOW_SCRATCH_DATABASE = (
    database_config(LEDGERFLOW_SCRATCH_DATABASE_URL, variable="LEDGERFLOW_SCRATCH_DATABASE_URL")
    if LEDGERFLOW_SCRATCH_DATABASE_URL
    else None
)

# Backups and restores (ledgerflow/recovery) ---------------------------------------------------
# Where `backup` and `rollback --allow-data-loss` write archives and manifests.
LEDGERFLOW_BACKUP_DIR = env.path("LEDGERFLOW_BACKUP_DIR", default=BASE_DIR / "backups")
# Secret that authenticates backup manifests (HMAC-SHA256); empty means manifests are written
# unauthenticated and `restore` accepts such an archive only with --allow-unauthenticated.
LEDGERFLOW_BACKUP_KEY = env.str("LEDGERFLOW_BACKUP_KEY", default="")
# Directory holding pg_dump/pg_restore of the server's major version; empty means $PATH.
LEDGERFLOW_PG_BIN_DIR = env.str("LEDGERFLOW_PG_BIN_DIR", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "ledgerflow.static_storage.CachedUrlStaticFilesStorage"},
}

# Security ------------------------------------------------------------------------------------
# Secure by default; development.env relaxes what plain-HTTP local work needs.
SECURE_SSL_REDIRECT = _from_env("SECURE_SSL_REDIRECT", True, bool)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = _from_env("SESSION_COOKIE_SECURE", True, bool)
CSRF_COOKIE_SECURE = _from_env("CSRF_COOKIE_SECURE", True, bool)
SECURE_HSTS_SECONDS = _from_env("SECURE_HSTS_SECONDS", 31536000, int)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _from_env("SECURE_HSTS_INCLUDE_SUBDOMAINS", True, bool)
SECURE_HSTS_PRELOAD = _from_env("SECURE_HSTS_PRELOAD", True, bool)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

SILENCED_SYSTEM_CHECKS = [
    # E034 enforces Oracle's 30-character index names; the legacy names are longer and PostgreSQL
    # allows 63 bytes, which ledgerflow.checks (ledgerflow.E001) enforces instead.
    "models.E034",
]

# Service roles (ledgerflow/roles) -------------------------------------------------------------
# Login roles the operator created for each service; after every migrate each named role gets
# exactly what its service's statements need (`manage.py service_grants` shows it). Unset: none.
LEDGERFLOW_BALANCER_ROLE = env.str("LEDGERFLOW_BALANCER_ROLE", default="").strip()
LEDGERFLOW_BOT_ROLE = env.str("LEDGERFLOW_BOT_ROLE", default="").strip()
LEDGERFLOW_INDEXER_ROLE = env.str("LEDGERFLOW_INDEXER_ROLE", default="").strip()
LEDGERFLOW_MONITOR_ROLE = env.str("LEDGERFLOW_MONITOR_ROLE", default="").strip()
# The newest services' roles on schema v2 (ledgerflow_v2); each also gets search_path as a role
# setting, so its DATABASE_URL names only the role.
LEDGERFLOW_V2_BALANCER_ROLE = env.str("LEDGERFLOW_V2_BALANCER_ROLE", default="").strip()
LEDGERFLOW_V2_BOT_ROLE = env.str("LEDGERFLOW_V2_BOT_ROLE", default="").strip()
LEDGERFLOW_V2_INDEXER_ROLE = env.str("LEDGERFLOW_V2_INDEXER_ROLE", default="").strip()

# Health, metrics (ledgerflow/health) and logs (ledgerflow/observability) ------------------------
# /metrics and the detailed /health/ready output need the token or an allowed address; with
# neither set they are open outside production and closed in it.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
HEALTH_ALLOWED_NETWORKS = env.list("HEALTH_ALLOWED_NETWORKS", default=[])
parse_networks(HEALTH_ALLOWED_NETWORKS)  # a bad entry stops start-up, naming it
HEALTH_CACHE_SECONDS = _from_env("HEALTH_CACHE_SECONDS", 30.0, float)
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT is {LOG_FORMAT!r}; it must be json or text.")
LOG_LEVEL = env.str("LOG_LEVEL", default="").strip().upper() or "INFO"
if LOG_LEVEL not in logging.getLevelNamesMapping():
    # logging would refuse it only at django.setup(), in a traceback.
    raise ImproperlyConfigured(
        f"LOG_LEVEL is {env.str('LOG_LEVEL')!r}; it must be DEBUG, INFO, WARNING, ERROR or "
        "CRITICAL."
    )
# Error pages and reports show settings; Django's own filter would show DATABASE_URL whole.
DEFAULT_EXCEPTION_REPORTER_FILTER = "ledgerflow.observability.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "ledgerflow.observability.reporting.ExceptionReporter"
# Orchestrators probe over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ledgerflow.observability.logs.JsonFormatter"},
        "text": {"()": "ledgerflow.observability.logs.TextFormatter"},
    },
    "filters": {"skip_printed": {"()": "ledgerflow.observability.logs.SkipPrinted"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            # In text, a migration's line is printed by migrate itself; JSON keeps the event.
            "filters": ["skip_printed"] if LOG_FORMAT == "text" else [],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # ledgerflow.health logs each failed check once, without the library's traceback.
        "health_check": {"level": "ERROR"},
    },
}

# Safe deploys (ledgerflow/migrating/) ------------------------------------------------------------
# `migrate` serialises runs with a session advisory lock, so it must reach PostgreSQL directly,
# not through a transaction-pooling PgBouncer: MIGRATION_DATABASE_URL names that direct route.
MIGRATION_DATABASE_URL = env.str("MIGRATION_DATABASE_URL", default="")
# Seconds a migrate run waits for another run's advisory lock before giving up.
MIGRATION_LOCK_WAIT_TIMEOUT = _from_env("MIGRATION_LOCK_WAIT_TIMEOUT", 300.0, float)
# Seconds one statement may wait for a table lock (PostgreSQL lock_timeout); 0 disables it.
MIGRATION_LOCK_TIMEOUT = _from_env("MIGRATION_LOCK_TIMEOUT", 5.0, float)
# Seconds one statement may run (PostgreSQL statement_timeout); 0 disables it.
MIGRATION_STATEMENT_TIMEOUT = _from_env("MIGRATION_STATEMENT_TIMEOUT", 600.0, float)
# Extra attempts for an atomic migration that hit lock_timeout; non-atomic ones are never retried.
MIGRATION_RETRIES = _from_env("MIGRATION_RETRIES", 3, int)
# First backoff between attempts in seconds; doubled each time, with jitter.
MIGRATION_RETRY_BACKOFF = _from_env("MIGRATION_RETRY_BACKOFF", 2.0, float)
