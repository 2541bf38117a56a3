from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class LedgerflowConfig(AppConfig):
    """The project itself as an app: shared database objects, system checks, commands."""

    name = "ledgerflow"
    verbose_name = "LedgerFlow schema"

    def ready(self):
        from django.db.models.signals import post_migrate, pre_migrate

        from ledgerflow import checks  # noqa: F401  (registers the system checks)
        from ledgerflow.migrating import executor
        from ledgerflow.roles import hooks

        executor.install()
        pre_migrate.connect(hooks.refuse_unusable_roles, sender=self)
        post_migrate.connect(hooks.reconcile_grants, sender=self)


class LedgerflowAdminConfig(AdminConfig):
    default_site = "ledgerflow.admin_site.LedgerFlowAdminSite"
