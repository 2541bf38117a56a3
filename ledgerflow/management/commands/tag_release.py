"""``tag_release NAME``: record the current migration state under a release name."""

import getpass
import json
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ledgerflow.migrating.history import read_history
from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.tags import create_tag, list_tags


def _operator():
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class Command(BaseCommand):
    help = "Record the current migration state under NAME (rollback --to-tag NAME returns to it)."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Release name, e.g. v1.4.0.")
        parser.add_argument("--created-by", help="Who tags (default: user@host).")
        parser.add_argument("--list", action="store_true", help="List the tags as JSON.")

    def handle(self, *args, **options):
        if not options["list"] and not options["name"]:
            raise CommandError("give a tag NAME (or --list).")
        try:
            if options["list"]:
                self.stdout.write(json.dumps(list_tags(), indent=2))
                return
            with connection.cursor() as cursor:
                state = list(read_history(cursor).applied_keys)
            tag = create_tag(options["name"], options["created_by"] or _operator(), state)
        except RecoveryError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Tagged {tag['name']}: {len(tag['migration_state'])} applied migrations, "
            f"by {tag['created_by']} at {tag['created_at']}."
        )
