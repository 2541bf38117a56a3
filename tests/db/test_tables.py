"""The one list of the project's apps and the LedgerFlow tables."""

from pathlib import Path

from django.apps import apps
from django.conf import settings

from ledgerflow.db.tables import PROJECT_APPS, PROJECT_TABLES


def _project_app_configs():
    base = Path(settings.BASE_DIR).resolve()
    return [
        config for config in apps.get_app_configs() if Path(config.path).resolve().parent == base
    ]


def test_every_app_of_this_repository_is_a_project_app():
    assert {config.label for config in _project_app_configs()} == set(PROJECT_APPS)


def test_the_project_tables_are_those_of_the_service_apps_models():
    tables = {
        model._meta.db_table
        for config in _project_app_configs()
        if config.label != "ledgerflow"  # the bookkeeping tables the services never read
        for model in config.get_models()
    }

    assert tables == set(PROJECT_TABLES)
