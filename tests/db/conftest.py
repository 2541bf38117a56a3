"""The client tools' refusal is checked through the backup command, with the recovery tests'
seeded databases and command runner."""

from tests.recovery.conftest import (  # noqa: F401 - fixtures
    backup_dir,
    migrated_db,
    migrated_template,
    run,
    seeded_db,
)
