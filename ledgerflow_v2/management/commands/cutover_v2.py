"""``cutover_v2``: carry the v1 data into ledgerflow_v2 in one audited, reconciled transaction."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ledgerflow.db.errors import OperatorError
from ledgerflow.recovery import lock_timeout_ms
from ledgerflow.recovery.backup import take_backup
from ledgerflow_v2.cutover import CutoverError, run_cutover, undo_cutover


class Command(BaseCommand):
    help = (
        "Carry the v1 tables (public) into schema v2 (ledgerflow_v2): accounts and users merged "
        "per Telegram id, amounts as NUMERIC(78,0), balances seeded, every row v2 cannot hold "
        "kept with its reason in ledgerflow_v2.cutover_rejects, every silent decision in "
        "ledgerflow_v2.cutover_notes, money reconciled per token. One transaction, v1 locked "
        "against writes, after a verified backup. See docs/CUTOVER.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be carried and rejected, change nothing, lock nothing.",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--accept-rejects",
            action="store_true",
            help="Carry the rest even when rows carrying money are rejected.",
        )
        parser.add_argument(
            "--redo",
            action="store_true",
            help="Empty ledgerflow_v2 and carry v1 again (refused if the new services wrote).",
        )
        parser.add_argument(
            "--undo",
            action="store_true",
            help="Empty ledgerflow_v2 again; v1 was never changed.",
        )
        parser.add_argument(
            "--discard-service-writes",
            action="store_true",
            help="With --undo or --redo: also delete what the new services wrote to v2.",
        )
        parser.add_argument(
            "--no-backup", action="store_true", help="Skip the verified backup taken first."
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10,
            help="Seconds to wait for the tables' locks before giving up (default 10).",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        if options["undo"] and (options["dry_run"] or options["redo"]):
            raise CommandError("--undo cannot be combined with --dry-run or --redo.")
        if options["discard_service_writes"] and options["no_backup"]:
            raise CommandError(
                "--discard-service-writes deletes what the new services wrote, which no other copy "
                "holds, so it always takes a verified backup first; drop --no-backup. Nothing "
                "was changed."
            )
        connection = connections[options["database"]]
        try:
            timeout = lock_timeout_ms(options["lock_timeout"])
        except OperatorError as exc:
            raise CommandError(str(exc)) from None
        backup = None if options["no_backup"] else self._backup(options["database"])
        try:
            if options["undo"]:
                report = undo_cutover(
                    connection,
                    discard_service_writes=options["discard_service_writes"],
                    backup=backup,
                    lock_timeout_ms=timeout,
                )
            else:
                report = run_cutover(
                    connection,
                    dry_run=options["dry_run"],
                    redo=options["redo"],
                    accept_rejects=options["accept_rejects"],
                    discard_service_writes=options["discard_service_writes"],
                    backup=backup,
                    lock_timeout_ms=timeout,
                )
        except CutoverError as exc:
            if exc.report is not None:
                self._print(exc.report, options, refused=str(exc))
            raise CommandError(str(exc)) from None
        self._print(report, options)

    def _backup(self, using):
        def backup(snapshot):
            try:
                taken = take_backup(reason="pre-cutover-v2", snapshot=snapshot, using=using)
            except OperatorError as exc:
                raise CutoverError(
                    f"No verified backup could be taken, so the cutover did not start: {exc} "
                    "Install pg_dump for this server's version (or fix what the message names), "
                    "or re-run with --no-backup if you hold a backup of this database already; "
                    "nothing was changed."
                ) from None
            return str(taken.archive_path)

        return backup

    def _print(self, report, options, refused=None):
        if options["json"]:
            self.stdout.write(json.dumps({**report, "refused": refused}, indent=2, default=str))
            return
        write = self.stdout.write
        if "emptied" in report:
            if report.get("note"):
                write(report["note"])
            else:
                emptied = ", ".join(f"{table}: {rows}" for table, rows in report["emptied"].items())
                write(f"ledgerflow_v2 emptied ({emptied}); v1 was not changed.")
            if report.get("backup"):
                write(f"Backup taken first: {report['backup']}")
            return
        title = "DRY RUN (rolled back, v1 not locked)" if report["dry_run"] else "Cutover"
        write(f"{title}: v1 (public) -> v2 (ledgerflow_v2)")
        if report["v1_locked"]:
            write(
                f"v1 tables locked against writes ({report['v1_lock_mode']}) for "
                f"{report.get('write_lock_seconds')} s, until the commit."
            )
        if report["backup"]:
            write(f"Backup taken first (the locked state): {report['backup']}")
        write("v1 rows: " + ", ".join(f"{t} {n}" for t, n in report["v1_rows"].items()))
        write("carried: " + ", ".join(f"{t} {n}" for t, n in report["carried"].items()))
        write(
            f"merged identities (users + accounts, one Telegram id): {report['merged_identities']}"
        )
        write(f"orders given chain_id 1 (the v2 default): {report['chain_id_defaulted']}")
        write(f"rejected rows: {report['rejected_rows']} (in ledgerflow_v2.cutover_rejects)")
        for table, reasons in report["rejected"].items():
            for reason, count in reasons.items():
                write(f"  {table}: {reason}: {count}")
        write("notes (in ledgerflow_v2.cutover_notes):")
        for kind, count in report["notes"].items():
            write(f"  {kind}: {count}")
        write("money (v1 total = carried + rejected):")
        for table, lines in report["money"].items():
            for line in lines:
                mark = "ok" if line["reconciled"] else "DOES NOT RECONCILE"
                unreadable = line["rejected_unreadable_amounts"]
                write(
                    f"  {table} {line['key']}: v1 {line['v1_total']} = carried "
                    f"{line['carried_total']} + rejected {line['rejected_total']}"
                    + (f" (+{unreadable} unreadable amounts, rejected)" if unreadable else "")
                    + f" [{mark}]"
                )
        if options["verbosity"] >= 2 and report.get("step_seconds"):
            write("time per step (seconds, in order):")
            for step, seconds in report["step_seconds"].items():
                write(f"  {seconds:8.3f}  {step}")
        if refused:
            write(f"REFUSED: {refused}")
        elif report["dry_run"]:
            write("Nothing was changed.")
        else:
            write("Committed. Start the new services with their v2 roles (docs/CUTOVER.md).")
