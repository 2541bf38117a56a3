"""The Prometheus exposition: schema state, drift, checksums, the pool and row estimates.

Values are read when scraped. Drift and checksums share the readiness checks' cache; row counts
are the planner's estimates from ``pg_class.reltuples`` (never ``COUNT(*)`` on the big tables);
a table never analysed has no estimate and no sample. When the database is unreachable only
``ledgerflow_database_up 0`` and the pool gauges are exported: no guessed values.
"""

import logging

from django.db import Error as DatabaseError
from django.db import connections
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ledgerflow.db.catalog import row_estimates
from ledgerflow.db.errors import is_lock_timeout
from ledgerflow.db.tables import PROJECT_TABLES
from ledgerflow.db.timeouts import behind_lock_timeout
from ledgerflow.health.checks import cached_checksum_mismatches, cached_drift, cached_v2_drift
from ledgerflow.migrating.history import migration_history
from ledgerflow.migrating.ledger import last_run
from ledgerflow.observability.masking import mask_secrets
from ledgerflow.schema.drift import V2_CHECKED

logger = logging.getLogger("ledgerflow.health")


def _gauge(name, documentation, value=None, labels=None):
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    if value is not None:
        family.add_metric(list((labels or {}).values()), value)
    return family


def last_run_figures(run):
    """``(duration_seconds, lock_wait_seconds)`` of the last migrate run as ``last_run()``
    answers it (``duration_ms`` and ``lock_wait_ms``); ``None`` for what is not known."""
    if not run:
        return None, None

    def seconds(key):
        value = run.get(key)
        return None if value is None else float(value) / 1000

    return seconds("duration_ms"), seconds("lock_wait_ms")


class SchemaCollector(Collector):
    def __init__(self, alias="default"):
        self.alias = alias

    def collect(self):
        connection = connections[self.alias]
        yield from self._pool_metrics(connection)
        try:
            samples = list(self._database_metrics(connection))
        except DatabaseError as exc:
            logger.warning(
                "metrics could not read the database: %s",
                mask_secrets(str(exc).strip().splitlines()[0] if str(exc).strip() else ""),
                extra={"error": type(exc).__name__},
            )
            yield _gauge("ledgerflow_database_up", "1 when the database answered the scrape", 0)
            return
        yield _gauge("ledgerflow_database_up", "1 when the database answered the scrape", 1)
        yield from samples

    def _database_metrics(self, connection):
        try:
            history = behind_lock_timeout(migration_history, connection)
        except DatabaseError as exc:
            if not is_lock_timeout(exc):
                raise
            history = None  # a migration holds django_migrations: up, but not countable now
        yield _gauge(
            "ledgerflow_schema_migrations_locked",
            "1 when django_migrations was locked (a migrate run holds it) during the scrape",
            int(history is None),
        )
        if history is not None:
            yield _gauge(
                "ledgerflow_schema_pending_migrations",
                "Migrations of this code not applied to the database",
                len(history.pending),
            )
            yield _gauge(
                "ledgerflow_schema_unknown_migrations",
                "Migrations applied to the database that this code does not know (database ahead)",
                len(history.unknown),
            )
        # "At head" as migration_status and the console say it: migrations only (0 while they
        # cannot be read). Drift and checksum mismatches have their own gauges below.
        yield _gauge(
            "ledgerflow_schema_at_head",
            "1 when every migration of this code is applied and none unknown to it",
            int(history is not None and history.at_head),
        )
        drift, _ = self._feature("drift", lambda: cached_drift(self.alias)[0])
        mismatches, _ = self._feature(
            "checksums", lambda: cached_checksum_mismatches(self.alias)[0]
        )
        # A lone migration_state difference says drift could not be checked (no expected schema
        # for this migration state): that is no count of differing objects, so leave it out.
        if drift is not None and not (drift and all(d.kind == "migration_state" for d in drift)):
            yield _gauge(
                "ledgerflow_schema_drift_objects",
                "Schema objects that differ from what the migrations build",
                len(drift),
            )
        yield from self._v2_metrics()
        if mismatches is not None:
            yield _gauge(
                "ledgerflow_schema_checksum_mismatches",
                "Applied migrations whose file changed since they were applied",
                len(mismatches),
            )
        run, _ = self._feature("last_run", lambda: last_run(connection))
        if run is not None:
            duration, lock_wait = last_run_figures(run)
            if duration is not None:
                yield _gauge(
                    "ledgerflow_migrate_last_duration_seconds",
                    "Duration of the last migrate run",
                    duration,
                )
            if lock_wait is not None:
                yield _gauge(
                    "ledgerflow_migrate_last_lock_wait_seconds",
                    "Time the last migrate run waited for its lock",
                    lock_wait,
                )
        rows = GaugeMetricFamily(
            "ledgerflow_table_rows_estimate",
            "Planner estimate of the rows in each LedgerFlow table (pg_class.reltuples)",
            labels=["table"],
        )
        with connection.cursor() as cursor:
            for table, estimate in row_estimates(cursor, PROJECT_TABLES):
                if estimate >= 0:  # -1: never vacuumed or analysed, so unknown
                    rows.add_metric([table], estimate)
        yield rows

    def _v2_metrics(self):
        """Schema v2: its migrations applied and pending, and its drift once it is migrated (a
        v2 not migrated yet, or one this role cannot compare, exports no drift count)."""
        v2, _ = self._feature("drift_v2", lambda: cached_v2_drift(self.alias)[0])
        if v2 is None:
            return
        yield _gauge(
            "ledgerflow_schema_v2_migrations_applied",
            "Schema v2 (ledgerflow_v2) migrations applied to the database",
            len(v2.applied),
        )
        yield _gauge(
            "ledgerflow_schema_v2_pending_migrations",
            "Schema v2 (ledgerflow_v2) migrations of this code not applied",
            len(v2.pending),
        )
        if v2.status == V2_CHECKED:
            yield _gauge(
                "ledgerflow_schema_v2_drift_objects",
                "Schema v2 objects that differ from what its applied migrations build",
                len(v2.differences),
            )

    def _feature(self, feature, compute):
        """``(value, usable)``: a reading that raises (or waits out its lock timeout behind a
        running migrate) exports no value and keeps ``ledgerflow_schema_at_head`` at 0, as the
        readiness check fails; the database itself is still reported up."""
        try:
            return compute(), True
        except DatabaseError as exc:
            if not is_lock_timeout(exc):
                raise
            return None, False
        except Exception as exc:
            logger.warning(
                "metrics could not use the %s feature: %s",
                feature,
                mask_secrets(str(exc)),
                extra={"feature": feature, "error": type(exc).__name__},
            )
            return None, False

    def _pool_metrics(self, connection):
        pool = getattr(connection, "pool", None)
        yield _gauge(
            "ledgerflow_db_pool_enabled",
            "1 when a psycopg connection pool is used",
            int(bool(pool)),
        )
        if not pool:
            return
        stats = pool.get_stats()
        yield _gauge("ledgerflow_db_pool_max", "Pool size limit", stats.get("pool_max", 0))
        yield _gauge(
            "ledgerflow_db_pool_connections",
            "Connections the pool holds",
            stats.get("pool_size", 0),
        )
        yield _gauge(
            "ledgerflow_db_pool_available",
            "Idle connections in the pool",
            stats.get("pool_available", 0),
        )
        yield _gauge(
            "ledgerflow_db_pool_requests_waiting",
            "Requests waiting for a connection",
            stats.get("requests_waiting", 0),
        )


def exposition(alias="default"):
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SchemaCollector(alias))
    return generate_latest(registry)
