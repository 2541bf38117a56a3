"""The one list of the project's apps and the LedgerFlow tables."""

from pathlib import Path

from django.apps import apps
from django.conf import settings

from ledgerflow.db.tables import PROJECT_APPS, PROJECT_TABLES, V2_APP


def _project_app_configs():
    base = Path(settings.BASE_DIR).resolve()
    return [
        config for config in apps.get_app_configs() if Path(config.path).resolve().parent == base
    ]


def test_every_app_of_this_repository_is_a_project_app_or_schema_v2():
    assert {config.label for config in _project_app_configs()} == {*PROJECT_APPS, V2_APP}


def test_the_project_tables_are_those_of_the_service_apps_models():
    tables = {
        model._meta.db_table
        for config in _project_app_configs()
        # The bookkeeping tables the services never read, and schema v2 (ledgerflow_v2.*).
        if config.label not in ("ledgerflow", V2_APP)
        for model in config.get_models()
    }

    assert tables == set(PROJECT_TABLES)
