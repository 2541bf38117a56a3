"""A small in-process cache with a time to live, for checks too expensive to run per probe.

Each key is computed by one thread at a time: when the cache is cold and fifty probes arrive
together, one of them runs the drift query and the others wait for its answer instead of running
fifty catalog scans against the shared database. Only successful results are kept, so a recovered
database is seen at the next probe.
"""

import threading
import time

_values = {}
_locks = {}
_registry_lock = threading.Lock()


def get_or_compute(key, ttl_seconds, compute):
    """``(value, cached)``: the value stored under ``key`` if younger than ``ttl_seconds``,
    else ``compute()``'s result, stored."""
    with _registry_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        entry = _values.get(key)
        now = time.monotonic()
        if entry is not None and now - entry[0] < ttl_seconds:
            return entry[1], True
        value = compute()
        if ttl_seconds > 0:
            _values[key] = (time.monotonic(), value)
        return value, False


def clear():
    """Forget every cached value (the next probe recomputes)."""
    with _registry_lock:
        _values.clear()
