"""The voxguard v1 wire API: generated protobuf/gRPC modules live in ``server.api.v1``."""
