"""The gRPC application: server assembly, interceptors and thin servicers."""
