"""Server time of tampered ``?o=`` and ``?q=`` on the large changelists, beside Django's own
ChangeList in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python -m benchmarks.admin_query_string [--orders N] [--deposits N] [--repeat N]

Fills a scratch database as ``admin_lists`` does (default 1,000,000 orders and 1,000,000
deposit events), then times each page through the project's admin and through a baseline: the
same ``ModelAdmin`` with Django's ``ChangeList``, which sorts by any ``list_display`` column the
query string names (the behaviour before ``LargeTableChangeList.get_ordering``). Pages go through
the site's ``admin_view``, as a request does, so over-long values meet the site's bound. Medians
of ``--repeat`` runs after one warm-up, in milliseconds; the megabyte rows run once each (the
baseline takes seconds).
"""

import argparse
import os
import statistics
import time

from benchmarks.admin_lists import fill
from benchmarks.common import scratch_database, url_for

MEGABYTE_O = "2." * 500_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--deposits", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def baseline_of(model_admin):
    """``model_admin`` with Django's ChangeList: ``?o=`` sorts by any listed column."""
    from django.contrib.admin.views.main import ChangeList

    class Baseline(type(model_admin)):
        def get_changelist(self, request, **kwargs):
            return ChangeList

    return Baseline(model_admin.model, model_admin.admin_site)


def time_page(view, user, query, repeat):
    """Median ms of ``view`` for ``query`` (view + render), SQL ms, status and response bytes."""
    from django.db import connection, reset_queries
    from django.test import RequestFactory

    factory = RequestFactory()

    def once():
        request = factory.get("/", query)
        request.user = user
        request.session = {}
        request._messages = _Messages()
        started = time.perf_counter()
        response = view(request)
        if hasattr(response, "render"):
            response.render()
        return time.perf_counter() - started, response

    if repeat > 1:
        once()  # warm-up
    connection.force_debug_cursor = True
    reset_queries()
    times, response = [], None
    for _ in range(repeat):
        elapsed, response = once()
        times.append(elapsed)
    db_ms = sum(float(q["time"]) for q in connection.queries) / repeat * 1000
    connection.force_debug_cursor = False
    return statistics.median(times) * 1000, db_ms, response.status_code, len(response.content)


class _Messages(list):
    """Stands in for the messages storage (no session here): the bound adds one message."""

    def add(self, level, message, extra_tags=""):
        self.append(message)


def main():
    args = parse_args()
    with scratch_database("lf_bench_admin_qs") as dbname:
        os.environ["DATABASE_URL"] = url_for(dbname)
        os.environ["LEDGERFLOW_ENV"] = "test"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
        import django

        django.setup()
        from django.contrib import admin
        from django.contrib.admin import AdminSite
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections

        from indexer.models import DepositEvent
        from orders.models import Order

        try:
            print(f"scratch database {dbname}: migrating and filling", flush=True)
            call_command("migrate", verbosity=0)
            fill(dbname, args.orders, args.deposits)
            user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
            orders, events = admin.site._registry[Order], admin.site._registry[DepositEvent]

            def column(model_admin, name):
                return str(model_admin.list_display.index(name))

            pages = [
                (orders, "default order", {}, args.repeat),
                (orders, "?o= amount", {"o": column(orders, "amount")}, args.repeat),
                (orders, "?o= status", {"o": column(orders, "status")}, args.repeat),
                (events, "?o= amount", {"o": column(events, "amount")}, args.repeat),
                (events, "?o= log_index", {"o": column(events, "log_index")}, args.repeat),
                (orders, "?o= 1 MB", {"o": MEGABYTE_O}, 1),
                (orders, "?q= 1 MB", {"q": "0" * 1_000_000}, 1),
            ]
            print(
                f"\n{args.orders:,} orders, {args.deposits:,} deposit events; median of "
                f"{args.repeat} runs (ms; megabyte rows: one run)\n"
            )
            print(
                "| table | page | ours ms | before ms | before/ours | db ms ours | db ms before "
                "| status ours/before | bytes ours/before |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            for model_admin, label, query, repeat in pages:
                ours = time_page(
                    admin.site.admin_view(model_admin.changelist_view), user, query, repeat
                )
                # The baseline also skips the site's bound on q and o: Django's own admin_view.
                baseline = baseline_of(model_admin).changelist_view
                before = time_page(AdminSite.admin_view(admin.site, baseline), user, query, repeat)
                print(
                    f"| {model_admin.opts.db_table} | {label} | {ours[0]:.1f} | {before[0]:.1f} "
                    f"| {before[0] / ours[0]:.0f}x | {ours[1]:.1f} | {before[1]:.1f} "
                    f"| {ours[2]} / {before[2]} | {ours[3]:,} / {before[3]:,} |",
                    flush=True,
                )
        finally:
            connections.close_all()


if __name__ == "__main__":
    main()
