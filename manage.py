#!/usr/bin/env python
"""Django's command-line utility for the LedgerFlow schema project."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
    from ledgerflow.cli import execute

    sys.exit(execute(sys.argv))


if __name__ == "__main__":
    main()
