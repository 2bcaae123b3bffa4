"""Search indexes for the back-office on PostgreSQL (benchmarks/backoffice.py).

Staff search by a part of a name, an email, an external reference or a provider session id. Django
turns `field__icontains=q` into `UPPER("field"::text) LIKE UPPER('%q%')`: a pattern with a leading
wildcard, which no B-tree index can serve, so PostgreSQL would read every row. A trigram GIN index
(pg_trgm) on exactly that expression, `UPPER(field::text)`, serves LIKE with wildcards on both sides
(and `iexact`/`istartswith`, which use the same expression), so these searches cost a few index
pages instead of a scan of 100,000 customers or 200,000 sessions. Indexing the expression rather
than the column means no query has to change. They are all searched inside an OR (the admin's
search fields), so every field of the OR needs one, or the planner falls back to a scan.

PostgreSQL only, and built CONCURRENTLY so that adding them to a live database does not block
writes (hence `atomic = False`); on SQLite (development, unit tests) this migration does nothing.
They are not declared on the models: the model state has no way to say "PostgreSQL only".
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TRIGRAM_INDEXES = {
    "kyc_customer": ("first_name", "last_name", "email", "external_ref"),
    "kyc_verificationsession": ("provider_session_id", "reference"),
}


def _name(table: str, column: str) -> str:
    return f"{table.removeprefix('kyc_')}_{column}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{_name(table, column)}" '
                f'ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{_name(table, column)}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("kyc", "0002_search_and_list_indexes")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
