"""Release tags: a named migration state, recorded by ``tag_release``; the rules and refusals
around the rows ``ledgerflow.migrating.ledger`` keeps."""

import re

from django.db import IntegrityError, connection

from ledgerflow.migrating import ledger
from ledgerflow.recovery import RecoveryError

# Used with fullmatch: "$" would also accept a trailing newline ("v1.0\n" beside "v1.0").
TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _require_table():
    if not ledger.release_tags_exist(connection):
        raise RecoveryError(
            "release tags live in the table ledgerflow_release_tags, which this database does "
            "not have yet: run `python manage.py migrate ledgerflow` first."
        )


def _serialise(tag):
    return {
        "name": tag.name,
        "created_at": tag.created_at.isoformat(),
        "created_by": tag.created_by,
        "migration_state": [list(key) for key in tag.migration_state],
    }


def list_tags():
    """Every release tag, oldest first, as JSON-serialisable dicts
    (name, created_at ISO 8601, created_by, migration_state ``[[app, name], ...]``)."""
    _require_table()
    return [_serialise(tag) for tag in ledger.release_tags(connection)]


def get_tag(name):
    _require_table()
    tag = ledger.release_tag(connection, name)
    if tag is None:
        known = ", ".join(tag.name for tag in ledger.release_tags(connection))
        raise RecoveryError(
            f"no release tag {name!r}; tags: {known or 'none yet (tag_release NAME)'}."
        )
    return tag


def create_tag(name, created_by, migration_state):
    """Record ``migration_state`` under ``name``; refuses bad or taken names."""
    if not TAG_NAME.fullmatch(name):
        raise RecoveryError(
            f"{name!r} is not a valid tag name: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. v1.4.0)."
        )
    _require_table()
    existing = ledger.release_tag(connection, name)
    if existing is not None:
        raise RecoveryError(
            f"release tag {name!r} already exists (created {existing.created_at:%Y-%m-%d %H:%M} "
            f"UTC by {existing.created_by}); tags never move, choose another name."
        )
    try:
        tag = ledger.add_release_tag(
            connection, name, created_by=created_by, migration_state=migration_state
        )
    except IntegrityError:
        raise RecoveryError(f"release tag {name!r} was just created by someone else.") from None
    return _serialise(tag)
