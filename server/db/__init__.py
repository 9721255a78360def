"""Relational storage: SQLAlchemy models, sessions and schema migrations."""
