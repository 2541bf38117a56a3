"""Where ``cutover_v2`` accounts for what it did: every v1 row v2 cannot hold (whole, as JSON,
with its reason), every decision it took without asking, and each run with its report.

These tables live in ``ledgerflow_v2`` beside the service tables but under names no service uses.
"""

from django.db import migrations

SCHEMA = "ledgerflow_v2"

CREATE = f"""
CREATE TABLE {SCHEMA}.cutover_runs (
    id BIGSERIAL PRIMARY KEY,
    action VARCHAR(20) NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    report JSONB NOT NULL,
    fingerprint JSONB
);

CREATE TABLE {SCHEMA}.cutover_rejects (
    id BIGSERIAL PRIMARY KEY,
    source_table VARCHAR(63) NOT NULL,
    source_key TEXT,
    reason VARCHAR(100) NOT NULL,
    detail TEXT NOT NULL,
    row_data JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE {SCHEMA}.cutover_notes (
    id BIGSERIAL PRIMARY KEY,
    kind VARCHAR(100) NOT NULL,
    subject TEXT,
    detail TEXT NOT NULL,
    data JSONB,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
"""

DROP = f"""
DROP TABLE {SCHEMA}.cutover_notes, {SCHEMA}.cutover_rejects, {SCHEMA}.cutover_runs;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledgerflow_v2", "0001_create_schema_ledgerflow_v2"),
    ]

    operations = [migrations.RunSQL(sql=CREATE, reverse_sql=DROP)]
