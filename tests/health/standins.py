"""Stand-ins for the features other parts of the project build (checksums, migration status,
drift), with the agreed signatures. The drift stand-in is a real detector, on a small scale: it
compares the live catalog with a snapshot taken when the test began."""

from ledgerflow.db.introspection import diff_snapshots, schema_snapshot

state = {"expected_snapshot": None, "checksum_mismatches": [], "status": {}, "calls": 0}


def reset():
    state.update(expected_snapshot=None, checksum_mismatches=[], status={}, calls=0)


def detect_drift(connection):
    state["calls"] += 1
    with connection.cursor() as cursor:
        return diff_snapshots(state["expected_snapshot"], schema_snapshot(cursor))


def checksum_mismatches(connection):
    return list(state["checksum_mismatches"])


def migration_status(connection):
    return state["status"]
