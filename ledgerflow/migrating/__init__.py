"""Safe deploys: single-flight ``migrate``, bounded locks, checksums, pre-flight checks, status.

Modules: ``lock`` (the advisory lock), ``timeouts`` (lock/statement timeouts, retries, blockers,
invalid indexes), ``checksums`` (the ledger of applied migrations), ``executor`` (Django's
executor with all of that wired in), ``lint`` (rules for hazardous operations), ``plan`` (the
pending plan and its SQL), ``preflight`` (every check together), ``status`` (the report).
"""
