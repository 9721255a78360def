"""voxguard server: gRPC application, storage, crypto, audio, synthesis and provenance.

Importing this package is cheap and has no side effects; heavy modules (gRPC, torch,
the engines) are imported only by the submodules that need them.
"""
