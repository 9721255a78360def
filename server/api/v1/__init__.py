"""Generated voxguard.v1 protobuf and gRPC modules (see server/api/generate.py)."""
