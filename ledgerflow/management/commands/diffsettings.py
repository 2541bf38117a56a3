"""Django's ``diffsettings``, with database passwords masked (``DATABASE_URL`` included)."""

from django.core.management.commands import diffsettings

from ledgerflow.observability.masking import mask_secrets


class Command(diffsettings.Command):
    def handle(self, **options):
        return mask_secrets(super().handle(**options))
