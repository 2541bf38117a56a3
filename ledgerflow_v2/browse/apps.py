"""The admin's view of schema v2: models of the ``ledgerflow_v2`` tables, and their pages.

An app apart from ``ledgerflow_v2`` and without migrations: the tables are built by
``ledgerflow_v2``'s SQL migrations, and these unmanaged models would otherwise add a state-only
migration to it, which every database would have to apply (and the v2 schema version would count)
for no change to the schema. Django's makemigrations and migrate leave an app without a
migrations module alone; its permissions and content types are still created.
"""

from django.apps import AppConfig


class SchemaV2BrowseConfig(AppConfig):
    name = "ledgerflow_v2.browse"
    # Short and unlike every v1 label: /admin/schema_v2/order/ is never /admin/orders/order/.
    label = "schema_v2"
    verbose_name = "Schema v2 (ledgerflow_v2, newest services)"
