"""Count the statements a Python client sends to PostgreSQL through psycopg.

``python -m benchmarks.round_trips SCRIPT_OR_-m_MODULE ARGS...`` runs the script (``manage.py``,
``benchmarks/stock_migrate.py``) or module (``-m alembic``) as ``__main__`` and, when it exits,
writes ``round trips: N`` to stderr: every statement executed through psycopg (a statement sent
``executemany`` counts once per parameter set) plus the BEGIN, COMMIT and ROLLBACK psycopg sends
itself. Each of them is one round trip to the server. Connecting is not counted.
"""

import atexit
import functools
import runpy
import sys
from pathlib import Path

from psycopg import Cursor
from psycopg._connection_base import BaseConnection

count = 0


def _counting_execute(execute):
    @functools.wraps(execute)
    def wrapper(self, query, *args, **kwargs):
        global count
        count += 1
        return execute(self, query, *args, **kwargs)

    return wrapper


def _counting_executemany(executemany):
    @functools.wraps(executemany)
    def wrapper(self, query, params_seq, *args, **kwargs):
        global count
        params_seq = list(params_seq)
        count += len(params_seq)
        return executemany(self, query, params_seq, *args, **kwargs)

    return wrapper


def _counting_command(exec_command):
    @functools.wraps(exec_command)
    def wrapper(self, command, *args, **kwargs):
        global count
        count += 1
        return exec_command(self, command, *args, **kwargs)

    return wrapper


def main():
    Cursor.execute = _counting_execute(Cursor.execute)
    Cursor.executemany = _counting_executemany(Cursor.executemany)
    BaseConnection._exec_command = _counting_command(BaseConnection._exec_command)
    atexit.register(lambda: print(f"round trips: {count}", file=sys.stderr))
    target, *args = sys.argv[1:]
    if target == "-m":
        module, *args = args
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *args]
        sys.path.insert(0, str(Path(target).resolve().parent))
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main()
