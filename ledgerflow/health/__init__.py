"""Health, readiness, metrics and structured logs of the LedgerFlow schema.

``/health/live`` says the process is up, ``/health/ready`` says the database is reachable and its
schema is at this code's head, ``/metrics`` exports the same facts to Prometheus; ``logging``
renders JSON lines with secrets masked. Features built elsewhere (checksums, migration status,
drift) are reached through ``features`` and reported as "not installed" until they exist.
"""
