"""Blob storage behind a small interface, and the durable file primitives it is built on.

Everything stored here is already ciphertext (see ``server.crypto.envelope``); this layer
only adds safe keys, private permissions, atomic writes and best-effort scrubbing.
"""
