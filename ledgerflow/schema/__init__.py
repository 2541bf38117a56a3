"""The schema as a whole: taking over sqlx-built databases, drift detection, generated docs.

``expected_states.json`` beside this module holds the schema this project's migrations build at
each migration state worth checking (generated from freshly migrated databases by
``manage.py schema_docs``, checked for staleness by the tests), so drift checks and takeovers
need no scratch database at run time.
"""
