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

from ledgerflow.db.urls import describe_target
from ledgerflow.health import cache, features
from ledgerflow.health.masking import mask_secrets
from ledgerflow.health.migration_state import migration_state

LOCK_NOT_AVAILABLE = "55P03"


class CheckFailed(ServiceUnavailable):
    def __init__(self, reason, details=()):
        super().__init__(reason)
        self.details = [mask_secrets(str(line)) for line in details]


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def database_failure(exc, connection):
    """A ``CheckFailed`` for a database error: the public reason names no host or user."""
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
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
        except DatabaseError as exc:
            raise database_failure(exc, self.connection) from exc
        except features.FeatureBroken as exc:
            raise CheckFailed("the feature is installed but broken", [str(exc)]) from exc

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
    _request.migration_states = {}


def request_migration_state(connection):
    states = getattr(_request, "migration_states", None)
    if states is None:  # outside a readiness request: read afresh
        return migration_state(connection)
    if connection.alias not in states:
        states[connection.alias] = migration_state(connection)
    return states[connection.alias]


@dataclasses.dataclass
class MigrationsApplied(LedgerflowCheck):
    """Every migration of this code is applied (the database is not behind)."""

    name = "migrations_applied"

    def probe(self):
        state = request_migration_state(self.connection)
        if not state.recorder_exists:
            raise CheckFailed(
                "no migration is applied: django_migrations does not exist (run manage.py migrate)"
            )
        if state.pending:
            raise CheckFailed(
                f"{_plural(len(state.pending), 'migration')} of this code not applied "
                "(the database is behind; run manage.py migrate)",
                [f"{app}.{name}" for app, name in state.pending],
            )
        self.reason = "every migration of this code is applied"


@dataclasses.dataclass
class NoUnknownMigrations(LedgerflowCheck):
    """The database records no migration this code does not have (the database is not ahead)."""

    name = "no_unknown_migrations"

    def probe(self):
        state = request_migration_state(self.connection)
        if state.unknown:
            raise CheckFailed(
                f"{_plural(len(state.unknown), 'applied migration')} unknown to this code "
                "(the database is ahead; deploy the release that has them)",
                [f"{app}.{name}" for app, name in state.unknown],
            )
        self.reason = "no applied migration is unknown to this code"


def cached_feature(feature, alias="default"):
    """``(result, cached)`` of an optional feature's function, or ``(None, False)`` when the
    feature is not installed. Results are kept for ``HEALTH_CACHE_SECONDS``."""
    function = features.load(feature)
    if function is None:
        return None, False
    return cache.get_or_compute(
        (feature, alias),
        settings.HEALTH_CACHE_SECONDS,
        lambda: function(connections[alias]),
    )


@dataclasses.dataclass
class ChecksumsMatch(LedgerflowCheck):
    """No applied migration changed since it was applied (cached; needs the checksums feature)."""

    name = "checksums"

    def probe(self):
        mismatches, self.cached = cached_feature("checksums", self.alias)
        if mismatches is None:
            self.reason = "not installed (checksums are not recorded by this release)"
        elif mismatches:
            raise CheckFailed(
                f"{_plural(len(mismatches), 'applied migration')} changed since applied",
                mismatches,
            )
        else:
            self.reason = "every applied migration matches its checksum"


@dataclasses.dataclass
class NoDrift(LedgerflowCheck):
    """The live schema is what the migrations built (cached; needs the drift feature)."""

    name = "drift"

    def probe(self):
        drift, self.cached = cached_feature("drift", self.alias)
        if drift is None:
            self.reason = "not installed (drift detection is not part of this release)"
        elif drift:
            raise CheckFailed(
                f"{_plural(len(drift), 'schema difference')} from what the migrations build",
                drift,
            )
        else:
            self.reason = "the live schema matches the migrations"


READINESS_CHECKS = (
    DatabaseReachable,
    MigrationsApplied,
    NoUnknownMigrations,
    ChecksumsMatch,
    NoDrift,
)
