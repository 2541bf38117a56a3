"""The readiness checks (django-health-check 4.x ``HealthCheck`` subclasses).

Each check sets ``reason`` (one public sentence, never a name, host or secret) and ``details``
(lines for authorised readers) and raises ``CheckFailed`` when the service must not be ready.
The checks of one request run one after another on one worker thread, sharing its connection.
"""

import dataclasses
import threading

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connections
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from ledgerflow.db.errors import is_lock_timeout
from ledgerflow.db.timeouts import behind_lock_timeout
from ledgerflow.db.urls import describe_target
from ledgerflow.health import cache
from ledgerflow.migrating.checksums import checksum_mismatches
from ledgerflow.migrating.history import migration_history
from ledgerflow.observability.masking import mask_secrets
from ledgerflow.schema.drift import V2_PENDING, V2_UNCHECKED, detect_drift, detect_v2_drift


class CheckFailed(ServiceUnavailable):
    def __init__(self, reason, details=()):
        super().__init__(reason)
        self.details = [mask_secrets(str(line)) for line in details]


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def database_failure(exc, connection):
    """A ``CheckFailed`` for a database error: the public reason names no host or user."""
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if is_lock_timeout(exc):
        return CheckFailed(
            "django_migrations is locked, probably by a running migrate; not ready until it ends",
            [first_line],
        )
    reachable = connection.connection is not None
    reason = (
        f"database error ({type(exc).__name__})"
        if reachable
        else f"the database is unreachable ({type(exc).__name__})"
    )
    return CheckFailed(reason, [describe_target(connection.settings_dict), first_line])


@dataclasses.dataclass
class LedgerflowCheck(HealthCheck):
    alias: str = "default"

    name = "check"

    def __post_init__(self):
        self.reason = ""
        self.details = []
        self.cached = False

    @property
    def connection(self):
        return connections[self.alias]

    def run(self):
        try:
            self.probe()
        except ServiceUnavailable:
            raise
        except DatabaseError as exc:
            raise database_failure(exc, self.connection) from exc
        except Exception as exc:
            # A bug in a check must fail it (never a 500, never a false green); the message may
            # name a host or a secret, so it goes to the details, masked, and the reason names
            # only the exception's type.
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise CheckFailed(
                f"the check could not run ({type(exc).__name__})", [first_line]
            ) from exc

    def probe(self):
        raise NotImplementedError


@dataclasses.dataclass
class DatabaseReachable(LedgerflowCheck):
    name = "database"

    def probe(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        self.reason = "reachable"


_request = threading.local()


def start_request():
    """Begin a readiness request on this (worker) thread: its checks share one reading of
    ``django_migrations``."""
    _request.histories = {}


def request_history(connection):
    """The ``MigrationHistory`` of ``connection``'s database, read once per readiness request."""
    histories = getattr(_request, "histories", None)
    if histories is None:  # outside a readiness request: read afresh
        return behind_lock_timeout(migration_history, connection)
    if connection.alias not in histories:
        try:
            histories[connection.alias] = behind_lock_timeout(migration_history, connection)
        except DatabaseError as exc:
            # Locked by a running migrate: the later checks of this request fail at once
            # instead of each waiting out the lock timeout again.
            if is_lock_timeout(exc):
                histories[connection.alias] = exc
            raise
    history = histories[connection.alias]
    if isinstance(history, DatabaseError):
        raise history
    return history


@dataclasses.dataclass
class MigrationsApplied(LedgerflowCheck):
    """Every migration of this code is applied (the database is not behind)."""

    name = "migrations_applied"

    def probe(self):
        history = request_history(self.connection)
        if not history.recorder_exists:
            raise CheckFailed(
                "no migration is applied: django_migrations does not exist (run manage.py migrate)"
            )
        if history.pending:
            raise CheckFailed(
                f"{_plural(len(history.pending), 'migration')} of this code not applied "
                "(the database is behind; run manage.py migrate)",
                [f"{app}.{name}" for app, name in history.pending],
            )
        self.reason = "every migration of this code is applied"


@dataclasses.dataclass
class NoUnknownMigrations(LedgerflowCheck):
    """The database records no migration this code does not have (the database is not ahead)."""

    name = "no_unknown_migrations"

    def probe(self):
        history = request_history(self.connection)
        if history.unknown:
            raise CheckFailed(
                f"{_plural(len(history.unknown), 'applied migration')} unknown to this code "
                "(the database is ahead; deploy the release that has them)",
                [f"{app}.{name}" for app, name in history.unknown],
            )
        self.reason = "no applied migration is unknown to this code"


def cached_checksum_mismatches(alias="default"):
    """``(mismatches, cached)``, kept for ``HEALTH_CACHE_SECONDS``."""
    return cache.get_or_compute(
        ("checksums", alias),
        settings.HEALTH_CACHE_SECONDS,
        lambda: behind_lock_timeout(checksum_mismatches, connections[alias]),
    )


def cached_drift(alias="default"):
    """``(differences, cached)``, kept for ``HEALTH_CACHE_SECONDS``. ``detect_drift`` reads in
    its own read-only snapshot with its own lock timeout."""
    return cache.get_or_compute(
        ("drift", alias),
        settings.HEALTH_CACHE_SECONDS,
        lambda: detect_drift(connections[alias]),
    )


def cached_v2_drift(alias="default"):
    """``(V2Drift, cached)`` for schema v2, kept for ``HEALTH_CACHE_SECONDS`` like v1's."""
    return cache.get_or_compute(
        ("drift_v2", alias),
        settings.HEALTH_CACHE_SECONDS,
        lambda: detect_v2_drift(connections[alias]),
    )


@dataclasses.dataclass
class ChecksumsMatch(LedgerflowCheck):
    """No applied migration changed since it was applied (cached)."""

    name = "checksums"

    def probe(self):
        mismatches, self.cached = cached_checksum_mismatches(self.alias)
        if mismatches:
            raise CheckFailed(
                f"{_plural(len(mismatches), 'applied migration')} changed since applied",
                [f"{mismatch['app']}.{mismatch['name']}" for mismatch in mismatches],
            )
        else:
            self.reason = "every applied migration matches its checksum"


@dataclasses.dataclass
class NoDrift(LedgerflowCheck):
    """The live schema is what the migrations built (cached)."""

    name = "drift"

    def probe(self):
        drift, self.cached = cached_drift(self.alias)
        if drift:
            raise CheckFailed(
                f"{_plural(len(drift), 'schema difference')} from what the migrations build",
                drift,
            )
        else:
            self.reason = "the live schema matches the migrations"


@dataclasses.dataclass
class NoV2Drift(LedgerflowCheck):
    """Schema v2 (``ledgerflow_v2``) is what its applied migrations built (cached).

    Not migrated yet passes here: there is nothing to compare, and a pending v2 migration already
    fails ``migrations_applied`` as any pending migration does (``migrate`` builds v1 and v2
    together), so the finding is named once, under its own check. Drift in v2, or v2 that cannot
    be compared (this role may not use the schema, the schema was dropped by hand), fails: the
    newest services break on it, and an operator running both generations sees it here by name,
    apart from v1's ``drift``."""

    name = "drift_v2"

    def probe(self):
        request_history(self.connection)  # fails at once when a migrate holds the table
        v2, self.cached = cached_v2_drift(self.alias)
        if v2.status == V2_PENDING:
            self.reason = "schema v2 is not migrated yet: nothing to compare"
            self.details = v2.pending
        elif v2.status == V2_UNCHECKED:
            raise CheckFailed("schema v2 drift cannot be checked", v2.differences)
        elif v2.differences:
            raise CheckFailed(
                f"{_plural(len(v2.differences), 'schema v2 difference')} from what its "
                "migrations build",
                v2.differences,
            )
        else:
            self.reason = "schema v2 matches its applied migrations"


READINESS_CHECKS = (
    DatabaseReachable,
    MigrationsApplied,
    NoUnknownMigrations,
    ChecksumsMatch,
    NoDrift,
    NoV2Drift,
)
