"""The WSGI application with a drift detector standing in for ``ledgerflow.schema.drift``.

It reads the same ``pg_catalog`` snapshot as ``ledgerflow.db.introspection`` (seven catalog
queries) and compares it with the first one it took, so a cold readiness probe pays for a real
catalog scan, as it will once drift detection is installed.
"""

from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from ledgerflow.health import features
from ledgerflow.wsgi import application

features.FEATURES["drift"] = ("benchmarks.drift_standin_wsgi", "detect_drift")
_expected = {}


def detect_drift(connection):
    with connection.cursor() as cursor:
        snapshot = schema_snapshot(cursor)
    expected = _expected.setdefault("snapshot", snapshot)
    return diff_snapshots(expected, snapshot)


__all__ = ["application", "detect_drift"]
