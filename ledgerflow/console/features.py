"""Calls into features that may not be installed yet, degrading to "not available".

Migration status, the migration lock, checksums and drift detection are built separately. The
console asks for each through ``probe()``: a missing module or function gives ``available=False``
(shown as "not available"); a feature that is present but fails gives its error, never a 500.
"""

import importlib
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# name shown in the console -> (module, function); each function takes a database connection.
FEATURES = {
    "migration_status": ("ledgerflow.migrating.status", "migration_status"),
    "lock_holder": ("ledgerflow.migrating.lock", "lock_holder"),
    "checksum_mismatches": ("ledgerflow.migrating.checksums", "checksum_mismatches"),
    "drift": ("ledgerflow.schema.drift", "detect_drift"),
}


@dataclass(frozen=True)
class FeatureResult:
    available: bool
    value: Any = None
    error: str = ""


def load(name):
    """The feature's function, or ``None`` when its module or function does not exist."""
    module_name, function_name = FEATURES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        # Only "this module is missing" means not available; a broken import inside an
        # existing module is a real error and must not be hidden.
        missing = getattr(exc, "name", None) or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise
    return getattr(module, function_name, None)


def probe(name, connection):
    """Run feature ``name`` against ``connection``; never raises."""
    try:
        function = load(name)
    except Exception as exc:
        logger.exception("Loading console feature %s failed", name)
        return FeatureResult(available=True, error=f"{type(exc).__name__}: {exc}")
    if function is None:
        return FeatureResult(available=False)
    try:
        return FeatureResult(available=True, value=function(connection))
    except Exception as exc:
        logger.exception("Console feature %s failed", name)
        return FeatureResult(available=True, error=f"{type(exc).__name__}: {exc}")
