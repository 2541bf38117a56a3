"""System checks for limits Django does not check on PostgreSQL."""

from django.apps import apps
from django.core import checks

POSTGRES_IDENTIFIER_BYTES = 63


@checks.register(checks.Tags.models)
def check_identifier_lengths(app_configs=None, **kwargs):
    """Index and constraint names must fit PostgreSQL's 63 bytes, or they are silently truncated
    (stands in for models.E034, which enforces Oracle's 30 characters)."""
    errors = []
    models = (
        [m for config in app_configs for m in config.get_models()]
        if app_configs
        else apps.get_models()
    )
    for model in models:
        for item in [*model._meta.indexes, *model._meta.constraints]:
            if item.name and len(item.name.encode()) > POSTGRES_IDENTIFIER_BYTES:
                errors.append(
                    checks.Error(
                        f"{item.name!r} is {len(item.name.encode())} bytes; PostgreSQL truncates "
                        f"identifiers longer than {POSTGRES_IDENTIFIER_BYTES} bytes.",
                        hint="Choose a shorter name.",
                        obj=model,
                        id="ledgerflow.E001",
                    )
                )
    return errors
