"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("wrapped_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=False),
        sa.Column("purposes", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("statement_text", sa.Text(), nullable=False),
        sa.Column("one_time_phrase", sa.String(length=200), nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "recording_deadline", server.db.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("expires_at", server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("activated_at", server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("recording_blob", sa.String(length=200), nullable=True),
        sa.Column("sealed_embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consents_tenant_created", ["tenant_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "voices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("engine", sa.String(length=50), nullable=False),
        sa.Column("engine_version", sa.String(length=50), nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("speech_seconds", sa.Float(), nullable=False),
        sa.Column("snr_db", sa.Float(), nullable=False),
        sa.Column("speaker_match", sa.Float(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("model_blob", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("voices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voices_consent_id"), ["consent_id"], unique=False)
        batch_op.create_index(
            "ix_voices_tenant_created", ["tenant_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "generations",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("voice_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("audio_format", sa.String(length=20), nullable=False),
        sa.Column("streamed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["voice_id"],
            ["voices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generations_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_generations_voice_id"), ["voice_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generations_voice_id"))
        batch_op.drop_index(batch_op.f("ix_generations_tenant_id"))

    op.drop_table("generations")
    with op.batch_alter_table("voices", schema=None) as batch_op:
        batch_op.drop_index("ix_voices_tenant_created")
        batch_op.drop_index(batch_op.f("ix_voices_consent_id"))

    op.drop_table("voices")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_tenant_created")

    op.drop_table("consents")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))

    op.drop_table("api_keys")
    op.drop_table("tenants")
    op.drop_table("server_secrets")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_tenant_id"))

    op.drop_table("audit_events")
