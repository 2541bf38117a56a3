"""Optional features built by other parts of the project, reached without depending on them.

A feature whose module is absent is *not installed*: checks that need it pass and say so. A module
that exists but fails to import for another reason, or lacks the expected function, is an error:
hiding a broken checksum or drift detector behind "not installed" would report a false green.
"""

from importlib import import_module

# feature name -> (module, function); tests point these at stand-ins.
FEATURES = {
    "checksums": ("ledgerflow.migrating.checksums", "checksum_mismatches"),
    "migration_status": ("ledgerflow.migrating.status", "migration_status"),
    "drift": ("ledgerflow.schema.drift", "detect_drift"),
}


class FeatureBroken(Exception):
    """The feature's module exists but cannot be used."""


def load(feature):
    """The feature's function, or ``None`` when its module is not installed."""
    module_name, function_name = FEATURES[feature]
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the feature's own module (or a parent package) missing means "not installed".
        prefixes = module_name.split(".")
        own = {".".join(prefixes[: i + 1]) for i in range(len(prefixes))}
        if exc.name in own:
            return None
        raise FeatureBroken(f"{module_name} cannot be imported: {exc}") from exc
    except ImportError as exc:
        raise FeatureBroken(f"{module_name} cannot be imported: {exc}") from exc
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FeatureBroken(f"{module_name} has no {function_name}()") from None


def installed(feature):
    try:
        return load(feature) is not None
    except FeatureBroken:
        return True
