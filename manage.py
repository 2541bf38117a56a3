#!/usr/bin/env python
"""Django's command-line utility for the LedgerFlow schema project."""

import gc
import os
import sys

CLOSED_OUTPUT = (
    "error: the output was closed before the command finished (its reader, such as `head`, "
    "stopped reading); run it again with the output in a file to see all of it."
)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
    from ledgerflow.cli import execute

    try:
        code = execute(sys.argv)
        sys.stdout.flush()  # here, where a closed pipe is handled, not in the exit's own flush
    except BrokenPipeError:
        # `manage.py showmigrations | head`: a closed pipe is not a fault of the command. Point
        # stdout at /dev/null so the interpreter's exit does not hit the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(CLOSED_OUTPUT, file=sys.stderr)
        code = 1
    finally:
        # The command is done and the process is about to end: without this, the interpreter's
        # exit runs a full garbage collection over every object Django loaded (some 65,000),
        # about 0.15 s of each `migrate`. Frozen objects are left to the exit's teardown.
        gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    main()
