"""Settings for child ``manage.py`` processes whose migrations a test rewrites.

``LEDGERFLOW_TEST_MIGRATION_MODULES`` is ``app=module,...``: each app's migrations come from a
package the test wrote under a temporary directory on ``PYTHONPATH``.
"""

import os

from ledgerflow.settings import *  # noqa: F403  (these settings plus one override)

MIGRATION_MODULES = dict(
    item.split("=", 1)
    for item in os.environ.get("LEDGERFLOW_TEST_MIGRATION_MODULES", "").split(",")
    if item
)
