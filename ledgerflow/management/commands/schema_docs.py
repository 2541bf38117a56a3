"""``manage.py schema_docs``: regenerate (or, with --check, verify) the generated schema files."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ledgerflow.schema.docs import SchemaDocsError, generate_all
from ledgerflow.schema.head_snapshot import HeadSnapshotError
from ledgerflow.schema.scratch import ScratchDatabaseError


class Command(BaseCommand):
    help = (
        "Migrate scratch databases on the configured server and regenerate docs/schema.md, "
        "schema/ledgerflow.sql and ledgerflow/schema/expected_states.json from them (and "
        "tests/migrating/migration_checksums.json from the code, and "
        "ledgerflow/migrating/head_schema.sql, the snapshot migrate loads into an empty "
        "database). With "
        "--check, write nothing and exit 1 when a committed file is stale. Needs a role allowed "
        "to CREATE DATABASE, and pg_dump."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Fail if a committed file is stale."
        )

    def handle(self, *args, **options):
        root = settings.BASE_DIR
        try:
            generated = generate_all()
        except (SchemaDocsError, HeadSnapshotError, ScratchDatabaseError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        stale = generated.stale(root)
        if options["check"]:
            if stale:
                self.stderr.write(
                    "stale generated schema files (run `python manage.py schema_docs` and "
                    "commit the result): " + ", ".join(str(path) for path in stale)
                )
                sys.exit(1)
            self.stdout.write("generated schema files are up to date")
            return
        generated.write(root)
        changed = ", ".join(str(path) for path in stale) or "nothing changed"
        self.stdout.write(f"wrote {len(generated.files)} files ({changed})")
