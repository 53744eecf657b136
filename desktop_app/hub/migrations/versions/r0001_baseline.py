"""0001: the hub's schema as ``metadata.create_all`` made it before there were revisions.

Written out table by table (not ``metadata.create_all``), so that it stays this schema whatever
``schema.py`` becomes.  A database made by that older create_all has exactly these tables and
columns and no ``alembic_version``: ``hub upgrade`` stamps it 0001 and goes on from here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _usage(name: str) -> None:
    op.create_table(
        name,
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("counter", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("psn_no", "year", "counter"),
    )


def _desks_and_feed() -> None:
    op.create_table(
        "desks",
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("facility_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("facility", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("desk_id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_heads",
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("desk_id"),
    )
    op.create_table(
        "changes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_changes_region", "changes", ["region"], unique=False)


def _members_and_catalogue() -> None:
    op.create_table(
        "members",
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("account_balance", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("psn_no"),
    )
    op.create_index("ix_members_region", "members", ["region"], unique=False)
    op.create_table(
        "family_links",
        sa.Column("owner_psn_no", sa.String(length=40), nullable=False),
        sa.Column("relative_psn_no", sa.String(length=40), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("owner_psn_no", "relative_psn_no"),
    )
    op.create_table(
        "catalogue",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "published_figures",
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("year", sa.String(length=4), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("region", "name", "year"),
    )
    op.create_table(
        "inpatient_episodes",
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("admitted", sa.String(length=10), nullable=False),
        sa.Column("discharged", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("psn_no", "admitted"),
    )
    op.create_table(
        "opening_balances",
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("psn_no"),
    )
    _usage("opening_usage")
    _usage("usage")


# The journal's figures in fen: the amounts, then the counters (domain.vocabulary.COUNTERS as of 0001).
FIGURES = (
    "medfee_sumamt",
    "hifp_pay",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "deductible",
    "pool",
    "programme_hypertension",
    "programme_diabetes",
)


def _journal() -> None:
    op.create_table(
        "settlements",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("facility_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("original_uuid", sa.String(length=36), nullable=True),
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.String(length=10), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("desk_created_at", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.String(length=40), nullable=False),
        sa.Column("clock_skew_seconds", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in FIGURES),
        sa.Column("family_payer", sa.String(length=40), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.Integer(), nullable=True),
        sa.Column("review", sa.String(length=12), nullable=True),
        sa.Column("review_amount", sa.BigInteger(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("uuid"),
        sa.UniqueConstraint("original_uuid"),
    )
    op.create_index("ix_settlements_psn_no", "settlements", ["psn_no"], unique=False)
    op.create_table(
        "set_aside",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("uuid"),
    )
    op.create_table(
        "rejected",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def upgrade() -> None:
    _desks_and_feed()
    _members_and_catalogue()
    _journal()


def downgrade() -> None:
    raise NotImplementedError("0001 is the first revision: to go back, restore the backup made before upgrading")
