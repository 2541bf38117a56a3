from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """Installed only for its templates and template tags; it owns no tables."""

    name = "ledgerflow.console"
    label = "ledgerflow_console"
    verbose_name = "LedgerFlow operations console"
