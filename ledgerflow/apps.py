from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class LedgerflowConfig(AppConfig):
    """The project itself as an app: shared database objects, system checks, commands."""

    name = "ledgerflow"
    verbose_name = "LedgerFlow schema"

    def ready(self):
        from ledgerflow import checks  # noqa: F401  (registers the system checks)


class LedgerflowAdminConfig(AdminConfig):
    default_site = "ledgerflow.admin_site.LedgerFlowAdminSite"
