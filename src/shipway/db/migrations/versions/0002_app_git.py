"""Per-app git settings (issue 13): deploy branch, subdirectory, review apps, upstream.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_git",
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("branch", sa.String(length=200), nullable=True),
        sa.Column("subdir", sa.String(length=500), nullable=False),
        sa.Column("review_apps", sa.Boolean(), nullable=False),
        sa.Column("forks", sa.Boolean(), nullable=False),
        sa.Column("upstream", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["app"], ["apps.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app"),
    )


def downgrade() -> None:
    op.drop_table("app_git")
