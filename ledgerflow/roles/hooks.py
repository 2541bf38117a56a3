"""``migrate`` reconciles the service grants: its pre_migrate signal refuses an unusable role
before anything is applied, its post_migrate signal grants and revokes once every migration ran
(so newly created tables are covered). Connected in ``LedgerflowConfig.ready``; each signal is
sent once per app, so only the project app's sending acts."""

import sys

from django.core.management.base import CommandError
from django.db import connections

from ledgerflow.roles import RoleError, grants
from ledgerflow.roles.services import configured_services


def refuse_unusable_roles(sender, using, **kwargs):
    if not configured_services():
        return
    try:
        grants.plan(connections[using], applying=True)
    except RoleError as exc:
        raise CommandError(f"Refusing to migrate; nothing was applied. {exc}") from None


def reconcile_grants(sender, using, verbosity=1, stdout=None, **kwargs):
    if not configured_services():
        return
    try:
        applied = grants.apply(connections[using])
    except RoleError as exc:
        raise CommandError(
            f"The migrations were applied, but the service grants were not reconciled. {exc} "
            "Then run `python manage.py service_grants --apply`."
        ) from None
    if verbosity:
        out = stdout or sys.stdout
        for statement in applied.statements():
            out.write(f"  Service grants: {statement}\n")
