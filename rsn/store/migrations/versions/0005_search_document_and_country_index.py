"""search document on reports, country index with category

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:48:44.290021

On PostgreSQL the search document moves from its own table (`report_search`) into a
`tsvector` column of `reports` with a GIN index: a list page that walks reports in
page order then tests each row's own document, where it used to probe the other
table once per row (97 ms instead of 10 ms for a word in 2% of 100,000 reports).
Existing documents are copied over. SQLite keeps its FTS5 table.

On both stores the country index gains the category, so a country + category page
tests the category in the index before reading a row.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_country_modified")
        batch_op.create_index(
            "ix_reports_country_modified", ["country", "modified", "id", "category"]
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reports ADD COLUMN search_document TSVECTOR")
        op.execute(
            "UPDATE reports SET search_document = s.document"
            " FROM report_search s WHERE s.report_id = reports.id"
        )
        op.execute("CREATE INDEX ix_reports_search_document ON reports USING GIN (search_document)")
        op.execute("DROP TABLE report_search")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE report_search ("
            " report_id VARCHAR(36) PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,"
            " document TSVECTOR NOT NULL)"
        )
        op.execute(
            "INSERT INTO report_search (report_id, document)"
            " SELECT id, search_document FROM reports WHERE search_document IS NOT NULL"
        )
        op.execute("CREATE INDEX ix_report_search_document ON report_search USING GIN (document)")
        op.execute("DROP INDEX ix_reports_search_document")
        op.execute("ALTER TABLE reports DROP COLUMN search_document")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_country_modified")
        batch_op.create_index("ix_reports_country_modified", ["country", "modified", "id"])
