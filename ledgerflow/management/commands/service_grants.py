"""``manage.py service_grants``: the privileges each service's role needs and holds."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ledgerflow.roles import RoleError, grants

EXIT_DIFFERENT = 1
EXIT_ERROR = 2


class Command(BaseCommand):
    help = (
        "Show, per service role (LEDGERFLOW_BALANCER_ROLE, LEDGERFLOW_BOT_ROLE, "
        "LEDGERFLOW_INDEXER_ROLE, LEDGERFLOW_MONITOR_ROLE, and for schema v2 "
        "LEDGERFLOW_V2_BALANCER_ROLE, LEDGERFLOW_V2_BOT_ROLE, LEDGERFLOW_V2_INDEXER_ROLE), the "
        "privileges its service needs and how the database differs. --check: exit 1 on a "
        "difference. --apply: grant and revoke on the project's tables (and ledgerflow_v2's) so "
        "each role holds exactly that, and give the v2 roles search_path = ledgerflow_v2 as "
        "their setting in this database (migrate does this too)."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true", help="Exit 1 when a role differs.")
        mode.add_argument("--apply", action="store_true", help="Grant and revoke to match.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args, check, apply, database, **options):
        connection = connections[database]
        try:
            plan = grants.apply(connection) if apply else grants.plan(connection)
        except RoleError as exc:
            raise CommandError(str(exc), returncode=EXIT_ERROR) from None
        for service in plan.unset:
            self.stdout.write(f"{service.name}: {service.setting} is not set; nothing granted.")
        for role_plan in plan.roles:
            service = role_plan.service
            self.stdout.write(f"{service.name}: role {role_plan.role} ({service.setting})")
            for need in service.needs:
                columns = f"({', '.join(need.columns)})" if need.columns else ""
                kind = "schema " if need.schema else ""
                self.stdout.write(
                    f"  {', '.join(need.privileges)} on {kind}{need.relation}{columns}: "
                    f"{need.because}"
                )
            if service.search_path:
                self.stdout.write(
                    f"  search_path = {service.search_path} (role setting in this database): "
                    "the service's unqualified names resolve in schema v2, its URL names only "
                    "the role"
                )
            for relation in role_plan.absent:
                self.stdout.write(f"  note: {relation} does not exist yet (run migrate)")
        for role, items in plan.others.items():
            self.stdout.write(
                f"note: {role} holds {', '.join(map(grants.describe_privilege, items))}; no "
                "LEDGERFLOW_*_ROLE setting names it, so it is left alone (revoke by hand if it "
                "was a service's role)."
            )
        if apply:
            for statement in plan.statements():
                self.stdout.write(f"applied: {statement}")
            if not plan.statements():
                self.stdout.write("Every service role already held exactly what it needs.")
            return
        differences = plan.differences()
        for line in differences:
            self.stdout.write(f"difference: {line}")
        if not differences and plan.roles:
            self.stdout.write("Every service role holds exactly what it needs.")
        if check and differences:
            self.stderr.write(
                f"{len(differences)} difference(s) from the services' needs; run "
                "`python manage.py service_grants --apply` (migrate also applies them)."
            )
            sys.exit(EXIT_DIFFERENT)
