"""Settings for the LedgerFlow schema project, driven by one ``environ.Env``.

``LEDGERFLOW_ENV`` (development, test or production) picks ``config/<env>.env``; real environment
variables always win over the file. With no ``DATABASE_URL`` outside production, the project uses
its embedded PostgreSQL (``ledgerflow/db/embedded.py``).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from ledgerflow.db import embedded
from ledgerflow.db.urls import database_config
from ledgerflow.health.access import parse_networks

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

if IS_PRODUCTION:
    _missing = [
        name
        for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
        if not env.str(name, default="")
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"Production settings need {', '.join(_missing)} set in the environment "
            "(see config/production.env.example); refusing to start without them."
        )

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="" if IS_PRODUCTION else "insecure-development-key")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "ledgerflow.apps.LedgerflowAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_linear_migrations",
    "ledgerflow.apps.LedgerflowConfig",
    "ledgerflow.console.apps.ConsoleConfig",
    "accounts",
    "users",
    "orders",
    "indexer",
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
DATABASE_URL = env.str("DATABASE_URL", default="")
USES_EMBEDDED_DATABASE = not DATABASE_URL
DATABASES = {
    "default": database_config(
        DATABASE_URL or embedded.database_url(BASE_DIR),
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=0),
        pool=env.bool("DATABASE_POOL", default=False),
        pool_min_size=env.int("DATABASE_POOL_MIN_SIZE", default=2),
        pool_max_size=env.int("DATABASE_POOL_MAX_SIZE", default=10),
        pool_timeout=env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=10),
    )
}

# Backups and restores (ledgerflow/recovery) ---------------------------------------------------
# Where `backup` and `rollback --allow-data-loss` write archives and manifests.
LEDGERFLOW_BACKUP_DIR = env.path("LEDGERFLOW_BACKUP_DIR", default=BASE_DIR / "backups")
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

# Security ------------------------------------------------------------------------------------
# Secure by default; development.env relaxes what plain-HTTP local work needs.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

SILENCED_SYSTEM_CHECKS = [
    # E034 enforces Oracle's 30-character index names; the legacy names are longer and PostgreSQL
    # allows 63 bytes, which ledgerflow.checks (ledgerflow.E001) enforces instead.
    "models.E034",
]

# Health, metrics and logs (ledgerflow/health) -------------------------------------------------
# /metrics and the detailed /health/ready output need the token or an allowed address; with
# neither set they are open outside production and closed in it.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
HEALTH_ALLOWED_NETWORKS = env.list("HEALTH_ALLOWED_NETWORKS", default=[])
parse_networks(HEALTH_ALLOWED_NETWORKS)  # a bad entry stops start-up, naming it
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=30.0)
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT is {LOG_FORMAT!r}; it must be json or text.")
if HEALTH_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("HEALTH_CACHE_SECONDS must be 0 (no caching) or more seconds.")
# Error pages and reports show settings; Django's own filter would show DATABASE_URL whole.
DEFAULT_EXCEPTION_REPORTER_FILTER = "ledgerflow.health.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "ledgerflow.health.reporting.ExceptionReporter"
# Orchestrators probe over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ledgerflow.health.logs.JsonFormatter"},
        "text": {"()": "ledgerflow.health.logs.TextFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
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
MIGRATION_LOCK_WAIT_TIMEOUT = env.float("MIGRATION_LOCK_WAIT_TIMEOUT", default=300.0)
# Seconds one statement may wait for a table lock (PostgreSQL lock_timeout); 0 disables it.
MIGRATION_LOCK_TIMEOUT = env.float("MIGRATION_LOCK_TIMEOUT", default=5.0)
# Seconds one statement may run (PostgreSQL statement_timeout); 0 disables it.
MIGRATION_STATEMENT_TIMEOUT = env.float("MIGRATION_STATEMENT_TIMEOUT", default=600.0)
# Extra attempts for an atomic migration that hit lock_timeout; non-atomic ones are never retried.
MIGRATION_RETRIES = env.int("MIGRATION_RETRIES", default=3)
# First backoff between attempts in seconds; doubled each time, with jitter.
MIGRATION_RETRY_BACKOFF = env.float("MIGRATION_RETRY_BACKOFF", default=2.0)
