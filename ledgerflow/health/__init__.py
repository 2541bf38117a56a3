"""Health, readiness and metrics of the LedgerFlow schema.

``/health/live`` says the process is up, ``/health/ready`` says the database is reachable and its
schema is at this code's head, ``/metrics`` exports the same facts to Prometheus. Checksums,
migration status and drift come from ``ledgerflow.migrating`` and ``ledgerflow.schema.drift``,
called directly; log lines and masking are ``ledgerflow.observability``'s.
"""
