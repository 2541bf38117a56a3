"""Server time of the orders and deposit events lists, ours beside stock Django, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python -m benchmarks.admin_lists [--orders N] [--deposits N] [--repeat N]

Creates a scratch database on the server of DATABASE_URL, migrates it, fills it with
``generate_series`` (default 1,000,000 orders and 2,000,000 deposit events, then ``VACUUM
ANALYZE``) and times the first page and page 1000 of each list, 100 rows per page on both sides:

- **ours**: the project's admin; page 1000 is the keyset page the "next" link of page 999 leads to
  (``?after=`` the key of page 999's last row, found once before timing);
- **stock**: a plain ``ModelAdmin`` on the same models with the same ``list_display`` (the same
  display methods), ``list_filter``, ``search_fields`` and ``ordering``, and Django's own
  changelist, paginator, count and row rendering; page 1000 is ``?p=1000``;
- **stock, default columns**: a plain ``ModelAdmin`` with only the filters and search fields, the
  one ``__str__`` column Django shows by default and its ``-pk`` order (the baseline of the
  figures before this benchmark).

Both "ours" and "stock" must show the same rows in the same order (checked). Time is the view plus
the template render, in-process (no HTTP); samples interleave the variants so that load on the
machine falls on all of them alike; the figure is the median of ``--repeat`` samples after a
warm-up, and the best sample of each is printed too (on a loaded machine the median moves with
the load; the best sample is the page's cost when it got the CPU). "db ms" is the time spent in
SQL per page (Django's query log). ``--keep`` keeps the scratch database, ``--reuse NAME`` times a
kept (or any filled) database again.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.common import connect, machine, url_for  # noqa: E402  (after the path insert)

PAGE_SIZE = 100
DEEP_PAGE = 1000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--deposits", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse", metavar="DBNAME", help="time a database kept by --keep (or filled alike)"
    )
    return parser.parse_args()


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
    with connect(dbname, autocommit=True) as conn:
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


def stock_sites(ours):
    """Two plain ``AdminSite``s: one mirroring ``ours`` (``{model: ModelAdmin}``) column for
    column, one with Django's defaults."""
    from django.contrib import admin

    same_columns = admin.AdminSite(name="stock")
    default_columns = admin.AdminSite(name="stock_default")
    for model, model_admin in ours.items():
        ours_class = type(model_admin)
        methods = {
            name: getattr(ours_class, name)
            for name in model_admin.list_display
            if callable(getattr(ours_class, name, None))
        }
        plain = {
            "list_filter": model_admin.list_filter,
            "search_fields": model_admin.exact_search_fields,
            "list_per_page": PAGE_SIZE,
        }
        mirrored = type(
            f"Stock{model.__name__}Admin",
            (admin.ModelAdmin,),
            {
                **plain,
                **methods,
                "list_display": model_admin.list_display,
                "ordering": model_admin.ordering,
            },
        )
        same_columns.register(model, mirrored)
        default_columns.register(
            model, type(f"Default{model.__name__}Admin", (admin.ModelAdmin,), plain)
        )
    return same_columns, default_columns


def deep_cursor(model_admin, user, page):
    """The ``?after=`` value the "next" link of page ``page - 1`` carries (found by OFFSET, once,
    before any timing)."""
    from django.test import RequestFactory

    from ledgerflow.console import keyset

    request = RequestFactory().get("/")
    request.user = user
    cl = model_admin.get_changelist_instance(request)
    columns = keyset.key_columns(cl.lookup_opts, cl.queryset.query.order_by)
    last_of_previous = cl.queryset[(page - 1) * PAGE_SIZE - 1]
    return keyset.encode(columns, last_of_previous)


def sample(model_admin, user, query):
    """One view + render of ``model_admin``'s list: (seconds, SQL seconds, row keys)."""
    from django.db import connection, reset_queries
    from django.test import RequestFactory

    request = RequestFactory().get("/", query)
    request.user = user
    reset_queries()
    started = time.perf_counter()
    response = model_admin.changelist_view(request)
    response.render()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (query, response.status_code)
    db = sum(float(entry["time"]) for entry in connection.queries)
    keys = [row.pk for row in response.context_data["cl"].result_list]
    return elapsed, db, keys


def time_variants(variants, user, repeat):
    """``{name: (median ms, median db ms, keys)}`` for ``variants`` (``{name: (admin, query)}``),
    sampled round-robin."""
    from django.db import connection

    connection.force_debug_cursor = True
    samples = {name: [] for name in variants}
    try:
        for round_ in range(repeat + 1):
            for name, (model_admin, query) in variants.items():
                result = sample(model_admin, user, query)
                if round_:  # the first round warms caches and plans
                    samples[name].append(result)
    finally:
        connection.force_debug_cursor = False
    return {
        name: (
            statistics.median(s[0] for s in results) * 1000,
            statistics.median(s[1] for s in results) * 1000,
            results[-1][2],
            min(s[0] for s in results) * 1000,
        )
        for name, results in samples.items()
    }


def main():
    args = parse_args()
    dbname = args.reuse or f"lf_bench_admin_{uuid.uuid4().hex[:8]}"
    if args.reuse:
        args.keep = True
    else:
        with connect("postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = url_for(dbname)
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
        ours = {model: admin.site._registry[model] for model in (Order, DepositEvent)}
        for model_admin in ours.values():
            model_admin.list_per_page = PAGE_SIZE  # stock's page size: page 1000 is the same rows
        stock, default = stock_sites(ours)

        load = os.getloadavg()
        print(
            f"\n{machine()}, Python {sys.version.split()[0]}, Django {django.__version__}; "
            f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n"
            f"{Order.objects.count():,} orders, {DepositEvent.objects.count():,} deposit events, "
            f"{PAGE_SIZE} rows per page; median of {args.repeat} interleaved samples (ms), "
            "view + render, in-process\n"
        )
        header = (
            "| table | page | ours ms | stock ms | stock / ours | stock (default columns) ms "
            "| default / ours | db ms ours / stock | best of run: ours / stock / default ms |"
        )
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for model in (Order, DepositEvent):
            pages = [("first page", {}, {})]
            total = model.objects.count()
            deep = min(DEEP_PAGE, total // PAGE_SIZE)
            if deep > 1:
                cursor = deep_cursor(ours[model], user, deep)
                pages.append((f"page {deep}", {"after": cursor}, {"p": str(deep)}))
            for label, our_query, stock_query in pages:
                results = time_variants(
                    {
                        "ours": (ours[model], our_query),
                        "stock": (stock._registry[model], stock_query),
                        "default": (default._registry[model], stock_query),
                    },
                    user,
                    args.repeat,
                )
                our_ms, our_db, our_keys, our_best = results["ours"]
                stock_ms, stock_db, stock_keys, stock_best = results["stock"]
                default_ms, default_best = results["default"][0], results["default"][3]
                assert our_keys == stock_keys, f"{model.__name__} {label}: ours and stock differ"
                print(
                    f"| {model._meta.db_table} | {label} | {our_ms:.1f} | {stock_ms:.1f} | "
                    f"{stock_ms / our_ms:.1f}x | {default_ms:.1f} | {default_ms / our_ms:.1f}x | "
                    f"{our_db:.1f} / {stock_db:.1f} | "
                    f"{our_best:.1f} / {stock_best:.1f} / {default_best:.1f} |",
                    flush=True,
                )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with connect("postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        else:
            print(f"kept {dbname}")


if __name__ == "__main__":
    main()
