"""``cutover_v2`` on a large v1 database: wall time, the write-lock window the old services see,
the time of its dry run and the command's peak memory, beside a baseline from the same run
(taken before and after the cutover, the mean used): plain copies of the same orders and deposit
events (``CREATE TABLE AS SELECT``, no checks, no indexes), the least any carrying of the rows
costs on this server.

    python -m benchmarks.cutover_v2 [orders]      # default 1,000,000 (2 deposits per order)

The v1 data: 0.3 orders' worth of people in users, as many in accounts (half of them the same
Telegram ids, 1 % with none), orders spread over those people and three tokens, 1 in 500 with
an amount of ``1.5`` and 1 in 1,000 pointing at an unknown account, and two deposit events per
order. The dry run and then the cutover run as an operator runs them, in child processes
(``--accept-rejects --no-backup``: the backup is pg_dump's time, measured in
benchmarks/backup_restore.py).
"""

import json
import sys
import time

from benchmarks.common import child_env, connect, machine, ours, scratch_database, timed

PEAK_RSS = (
    "import resource, runpy, sys\n"
    "sys.argv = ['manage.py', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_path('manage.py', run_name='__main__')\n"
    "finally:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print('peak_rss_kib', peak, file=sys.stderr)\n"
)


def fill_v1(conn, orders):
    people = max(orders * 3 // 10, 10)
    conn.execute(
        "INSERT INTO users (telegram_id, username, evm_address) "
        "SELECT 1000000000 + i, 'user' || i, '0x' || lpad(to_hex(i), 40, '0') "
        "FROM generate_series(1, %s) i",
        [people],
    )
    conn.execute(
        "INSERT INTO accounts (account_id, email, telegram_id, evm_address) "
        "SELECT 'acc-' || i, 'acc' || i || '@example.com', "
        "       CASE WHEN i %% 100 = 0 THEN NULL ELSE (1000000000 + %s / 2 + i)::text END, "
        "       '0x' || lpad(to_hex(i), 40, '0') "
        "FROM generate_series(1, %s) i",
        [people, people],
    )
    identities = people + people // 2
    conn.execute(
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status) "
        "SELECT 'o-' || i, "
        "       CASE WHEN i %% 1000 = 0 THEN 'nobody' ELSE (1000000000 + 1 + i %% %s)::text END, "
        "       'ledgerflow', CASE WHEN i %% 500 = 0 THEN '1.5' ELSE (i * 1000)::text END, "
        "       '0x' || lpad(to_hex(i %% 3), 40, 'a'), "
        "       (ARRAY['completed', 'pending', 'failed', 'cancelled'])[1 + i %% 4]::order_status "
        "FROM generate_series(1, %s) i",
        [identities, orders],
    )
    conn.execute(
        "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
        "transaction_hash, block_number, log_index) "
        "SELECT 1, '0xvault', 'o-' || (1 + i %% %s), '0xsender', (i * 7)::text, "
        "       '0x' || md5(i::text), i / 10, i %% 10 "
        "FROM generate_series(1, %s) i",
        [orders, orders * 2],
    )
    conn.execute("ANALYZE")
    conn.commit()


def baseline(conn):
    started = time.perf_counter()
    conn.execute("CREATE TABLE copy_orders AS SELECT * FROM public.orders")
    conn.execute("CREATE TABLE copy_deposits AS SELECT * FROM public.deposit_events")
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.execute("DROP TABLE copy_orders, copy_deposits")
    conn.commit()
    return elapsed


def main(orders):
    with scratch_database("lf_bench_cutover") as dbname:
        env = child_env(dbname)
        timed(ours("migrate", "--no-input"), env)
        with connect(dbname) as conn:
            fill_v1(conn, orders)
            copy_seconds = baseline(conn)
        dry_seconds, _ = timed(ours("cutover_v2", "--dry-run", "--no-backup", "--json"), env)
        seconds, result = timed(
            [sys.executable, "-c", PEAK_RSS, "cutover_v2", "--accept-rejects", "--no-backup",
             "--json"],
            env,
        )  # fmt: skip
        report = json.loads(result.stdout)
        peak_kib = int(result.stderr.rsplit("peak_rss_kib", 1)[1].split()[0])
        # The machine is shared: the baseline is taken before and after, and their mean used.
        with connect(dbname) as conn:
            copy_after = baseline(conn)
    print(f"machine: {machine()}")
    print(f"v1: {report['v1_rows']}")
    print(f"carried: {report['carried']}")
    print(f"rejected rows: {report['rejected_rows']}, reconciled: {report['reconciled']}")
    print(f"cutover_v2 (child process, start to exit): {seconds:.1f} s")
    print(
        f"  write-lock window (v1 locked SHARE, lock to commit): {report['write_lock_seconds']} s"
    )
    print(f"  peak memory of the command: {peak_kib / 1024:.0f} MiB")
    slowest = sorted(report["step_seconds"].items(), key=lambda item: -item[1])[:8]
    print("  slowest steps: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in slowest))
    print(f"cutover_v2 --dry-run (child process, locks nothing): {dry_seconds:.1f} s")
    copy_mean = (copy_seconds + copy_after) / 2
    print(
        f"baseline, plain copy of orders + deposit_events: {copy_mean:.1f} s "
        f"(before the cutover {copy_seconds:.1f} s, after {copy_after:.1f} s)"
    )
    print(f"ratio, write-lock window / plain copy: {report['write_lock_seconds'] / copy_mean:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
