from django.db import migrations

from ledgerflow.db.operations import InstallUpdatedAtFunction


class Migration(migrations.Migration):
    """The trigger function shared by accounts, users, orders and chain_states."""

    initial = True
    dependencies = []
    operations = [InstallUpdatedAtFunction()]
