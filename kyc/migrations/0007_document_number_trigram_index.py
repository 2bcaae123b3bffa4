"""Search by document number in the review queue (kyc.backoffice.queue): a trigram GIN index on
exactly the expression Django's `document__number__icontains` searches,
`UPPER((document ->> 'number')::text)`, so that the matching decisions are a few index pages
instead of a scan of every decision (benchmarks/backoffice.py). PostgreSQL only, built
CONCURRENTLY, as in 0003."""

from django.db import migrations

NAME = "providerdecision_document_number_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{NAME}" ON "kyc_providerdecision" '
        """USING gin ((UPPER(("document" ->> 'number')::text)) gin_trgm_ops)"""
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("kyc", "0006_roles_reasons_audit_chain")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
