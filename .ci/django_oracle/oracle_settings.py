"""Settings for Django's own test suite (its tests/runtests.py) against the machine's PostgreSQL.

The server comes from DATABASE_URL; Django's tests use two databases (``default`` and
``other``), created as ``<name>_django`` and ``<name>_django_other`` beside the project's own.
The MIGRATION_* values are the project's defaults, which its executor reads.
"""

import os
from urllib.parse import urlsplit

_url = urlsplit(os.environ["DATABASE_URL"])  # .ci/django-oracle refuses to run without it
_name = _url.path.lstrip("/") or "ledgerflow"


def _database(suffix):
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": _url.port or 5432,
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "NAME": "postgres",  # only connected to for creating the test databases
        "TEST": {"NAME": f"{_name}_django{suffix}"},
    }


DATABASES = {"default": _database(""), "other": _database("_other")}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False

# Django's runtests.py keeps a TEST_RUNNER it is given: this one swaps the project in.
TEST_RUNNER = "oracle_runner.OracleRunner"

MIGRATION_DATABASE_URL = ""
MIGRATION_LOCK_WAIT_TIMEOUT = 300.0
MIGRATION_LOCK_TIMEOUT = 5.0
MIGRATION_STATEMENT_TIMEOUT = 600.0
MIGRATION_RETRIES = 3
MIGRATION_RETRY_BACKOFF = 2.0
