from django.apps import AppConfig


class LedgerflowV2Config(AppConfig):
    name = "ledgerflow_v2"
    verbose_name = "Schema v2 (newest services, PostgreSQL schema ledgerflow_v2)"
