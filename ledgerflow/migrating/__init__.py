"""Safe deploys: single-flight ``migrate``, bounded locks, checksums, pre-flight checks, status.

Modules: ``session`` (what migrate, rollback and adopt_sqlx hold: direct route, the advisory lock
from ``lock``, the timeouts from ``timeouts``, the run record), ``ledger`` (the bookkeeping tables:
checksums, acceptances, runs, release tags), ``checksums`` (what a migration's checksum is and
which applied ones changed), ``executor`` (Django's executor with all of that wired in, installed
into Django's ``migrate`` once), ``deploy`` (migrate's checks on Django's plan before applying),
``lint`` (rules for hazardous operations), ``plan`` (the pending plan and its SQL), ``preflight``
(every check together), ``status`` (the report).
"""
