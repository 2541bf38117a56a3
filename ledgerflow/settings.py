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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
