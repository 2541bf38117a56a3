"""Server time of the orders and deposit events changelists on big tables, beside stock Django.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/admin_changelists.py [--orders N] [--deposits N] [--repeat N]

Creates a scratch database on the server of DATABASE_URL, migrates it, fills it with
``generate_series`` (default 1,000,000 orders and 2,000,000 deposit events), and times each page
through the project's ``ModelAdmin`` and through a plain ``ModelAdmin`` with stock settings (same
filters and search fields, default count, ``icontains`` search, ``-pk`` ordering), in the same run.
Both show 100 rows per page so that "page 1000" reads the same rows. Time is the view plus the
template render, measured in-process (no HTTP); the figure is the median of ``--repeat`` runs
after one warm-up. "db ms" is the mean time spent in SQL per page (Django's query log), which
tells database work apart from template rendering (the project's pages render more columns:
links, shortened hashes, timestamps; stock shows only ``__str__``). The scratch database is
dropped at the end unless ``--keep``; ``--reuse`` times a kept one again.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--deposits", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse", metavar="DBNAME", help="time pages of a database kept by an earlier --keep run"
    )
    return parser.parse_args()


def server_url(dbname):
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def admin_connect(dbname):
    import psycopg

    return psycopg.connect(server_url(dbname), autocommit=True)


FILL_ORDERS = """
INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status, created_at,
                    transaction_hash)
SELECT 'ord-' || lpad(g::text, 8, '0'),
       (100000 + g %% 50000)::text,
       'broker-' || (g %% 5),
       (g::numeric * 1000000000000)::text,
       '0x' || repeat('ab', 20),
       (CASE WHEN g %% 100 < 70 THEN 'completed' WHEN g %% 100 < 90 THEN 'pending'
             WHEN g %% 100 < 97 THEN 'failed' ELSE 'cancelled' END)::order_status,
       now() - (%(n)s - g) * interval '1 second',
       CASE WHEN g %% 2 = 0 THEN '0x' || lpad(to_hex(g), 64, '0') END
FROM generate_series(1, %(n)s) AS g
"""

FILL_DEPOSITS = """
INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount,
                            transaction_hash, block_number, log_index, created_at, processed)
SELECT (ARRAY[1, 10, 8453, 42161])[1 + g %% 4],
       '0x' || repeat('cd', 20),
       'ord-' || lpad((1 + (g - 1) / 2)::text, 8, '0'),
       '0x' || repeat('ef', 20),
       '1000000000000',
       '0x' || lpad(to_hex(g), 64, '0'),
       1000000 + g,
       g %% 2,
       now() - (%(n)s - g) * interval '1 second',
       g %% 3 <> 0
FROM generate_series(1, %(n)s) AS g
"""


def fill(dbname, orders, deposits):
    with admin_connect(dbname) as conn:
        for label, sql, n in (
            ("orders", FILL_ORDERS, orders),
            ("deposits", FILL_DEPOSITS, deposits),
        ):
            started = time.perf_counter()
            conn.execute(sql, {"n": n})
            print(f"  {label}: {n:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        conn.execute(
            "INSERT INTO chain_states (chain_id, contract_address, last_scanned_block) "
            "VALUES (8453, '0x' || repeat('cd', 20), 3000000)"
        )
        conn.execute("VACUUM ANALYZE")


def build_stock_site():
    from django.contrib import admin

    from indexer.models import DepositEvent
    from orders.models import Order

    site = admin.AdminSite(name="stock")

    class StockOrderAdmin(admin.ModelAdmin):
        list_filter = ("status",)
        search_fields = ("order_id", "account_id")

    class StockDepositEventAdmin(admin.ModelAdmin):
        list_filter = ("processed", "chain_id")
        search_fields = ("order_id", "transaction_hash")

    site.register(Order, StockOrderAdmin)
    site.register(DepositEvent, StockDepositEventAdmin)
    return site


def time_page(model_admin, user, query, repeat):
    from django.db import connection, reset_queries
    from django.test import RequestFactory

    factory = RequestFactory()

    def once():
        request = factory.get("/", query)
        request.user = user
        started = time.perf_counter()
        response = model_admin.changelist_view(request)
        response.render()
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (query, response.status_code)
        return elapsed, response

    once()  # warm-up: caches, plans, first touch of the pages
    connection.force_debug_cursor = True
    reset_queries()
    times = []
    for _ in range(repeat):
        elapsed, response = once()
        times.append(elapsed)
    queries = len(connection.queries) // repeat
    db_ms = sum(float(query["time"]) for query in connection.queries) / repeat * 1000
    connection.force_debug_cursor = False
    rows = len(response.context_data["cl"].result_list)
    return statistics.median(times) * 1000, queries, rows, db_ms


def main():
    args = parse_args()
    dbname = args.reuse or f"lf_bench_admin_{uuid.uuid4().hex[:8]}"
    if args.reuse:
        args.keep = True
    else:
        with admin_connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = server_url(dbname)
    os.environ["LEDGERFLOW_ENV"] = "test"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
    try:
        import django

        django.setup()
        from django.contrib import admin
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from indexer.models import DepositEvent
        from orders.models import Order

        if not args.reuse:
            print(f"scratch database {dbname}: migrating and filling", flush=True)
            call_command("migrate", verbosity=0)
            fill(dbname, args.orders, args.deposits)
            get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
        user = get_user_model().objects.get(username="bench")
        stock = build_stock_site()

        probe_order = f"ord-{args.orders // 2:08d}"
        probe_hash = "0x" + format(args.deposits // 2, "x").rjust(64, "0")
        # Page 1000 at full size; the last page when a smaller run has fewer.
        order_page = min(1000, args.orders // 100)
        deposit_page = min(1000, args.deposits // 100)
        pages = [
            (Order, "first page", {}),
            (Order, f"page {order_page}", {"p": str(order_page)}),
            (Order, "status=pending", {"status__exact": "pending"}),
            (Order, f"search {probe_order}", {"q": probe_order}),
            (DepositEvent, "first page", {}),
            (DepositEvent, f"page {deposit_page}", {"p": str(deposit_page)}),
            (DepositEvent, "processed=no", {"processed__exact": "0"}),
            (DepositEvent, "search tx hash", {"q": probe_hash}),
        ]
        ours = {model: admin.site._registry[model] for model in (Order, DepositEvent)}
        for model_admin in ours.values():
            model_admin.list_per_page = 100  # stock's page size, so page 1000 reads the same rows

        print(
            f"\n{args.orders:,} orders, {args.deposits:,} deposit events; median of "
            f"{args.repeat} runs (ms), view + render, in-process\n"
        )
        header = (
            f"| {'table':<14} | {'page':<22} | {'ours ms':>8} | {'stock ms':>9} | "
            f"{'stock/ours':>10} | {'db ms ours':>10} | {'db ms stock':>11} | "
            f"queries ours/stock | rows |"
        )
        print(header)
        print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
        for model, label, query in pages:
            our_ms, our_q, our_rows, our_db = time_page(ours[model], user, query, args.repeat)
            stock_ms, stock_q, stock_rows, stock_db = time_page(
                stock._registry[model], user, query, args.repeat
            )
            assert our_rows == stock_rows or "search" in label or "status" in label, label
            print(
                f"| {model._meta.db_table:<14} | {label:<22} | {our_ms:8.1f} | "
                f"{stock_ms:9.1f} | {stock_ms / our_ms:9.1f}x | {our_db:10.1f} | "
                f"{stock_db:11.1f} | {our_q:>8} / {stock_q:<7} | {our_rows:>4} |",
                flush=True,
            )
        # The project's own page size is 50: half the rows to render.
        for model in (Order, DepositEvent):
            ours[model].list_per_page = type(ours[model]).list_per_page
            our_ms, our_q, our_rows, our_db = time_page(ours[model], user, {}, args.repeat)
            print(
                f"{model._meta.db_table} first page at the project's {our_rows} rows per page: "
                f"{our_ms:.1f} ms ({our_db:.1f} ms in SQL, {our_q} queries)",
                flush=True,
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with admin_connect("postgres") as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        else:
            print(f"kept {dbname}")


if __name__ == "__main__":
    main()
