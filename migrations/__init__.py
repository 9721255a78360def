"""Alembic migrations of the voxguard schema (applied by ``voxguard db upgrade`` or at start)."""
