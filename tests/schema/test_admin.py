"""Takeover records are visible, read-only, in the admin."""

from ledgerflow.models import SchemaTakeover


def test_takeover_records_are_listed_and_read_only(admin_client):
    SchemaTakeover.objects.create(
        os_user="ops",
        database_user="postgres",
        client_host="deploy-1",
        sqlx_version=20250709000001,
        sqlx_description="initial schema",
        sqlx_installed_on="2025-07-09T00:00:00Z",
        sqlx_checksum="ab" * 48,
        recorded_migrations=["accounts.0001_create_accounts"],
        schema_fingerprint="0" * 64,
    )

    listing = admin_client.get("/admin/ledgerflow/schematakeover/")
    adding = admin_client.get("/admin/ledgerflow/schematakeover/add/")

    assert listing.status_code == 200
    assert b"deploy-1" in listing.content
    assert adding.status_code == 403
