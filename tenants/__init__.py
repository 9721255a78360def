"""Tenant, API key, consent and voice domain logic (no gRPC imports)."""
