"""Webhook deliveries (issue 13): every delivery for an app and what became of it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("delivery", sa.String(length=100), nullable=False),
        sa.Column("dedupe", sa.String(length=100), nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("target", sa.String(length=63), nullable=True),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["app"], ["apps.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app", "provider", "dedupe", name="uq_webhook_deliveries_dedupe"),
    )
    op.create_index("ix_webhook_deliveries_app_id", "webhook_deliveries", ["app", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_app_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
