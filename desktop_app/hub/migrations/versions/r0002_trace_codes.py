"""0002: 药品追溯码 (issue 18): every code sold in the region with its sale, and the codes sold again, for review."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_sales",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("sold_at", sa.String(length=40), nullable=False),
        sa.Column("released_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("code", "uuid"),
    )
    op.create_index("ix_trace_sales_uuid", "trace_sales", ["uuid"], unique=False)
    op.create_table(
        "trace_reviews",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("first_uuid", sa.String(length=36), nullable=False),
        sa.Column("first_desk_id", sa.String(length=64), nullable=False),
        sa.Column("first_sold_at", sa.String(length=40), nullable=False),
        sa.Column("found_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("code", "uuid"),
    )
    op.create_index("ix_trace_reviews_uuid", "trace_reviews", ["uuid"], unique=False)


def downgrade() -> None:
    op.drop_table("trace_reviews")
    op.drop_table("trace_sales")
