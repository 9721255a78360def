"""The synthesis path: bounded queue, scheduler, worker processes, watermarking.

Layering (after vLLM's engine): ``records`` (small typed messages), ``scheduler`` (plain
CPU logic: queueing, cancellation, deadlines), ``worker`` (the process that runs the
engine and watermarks every sample), ``pool`` (process management and IPC) and
``service`` (the asyncio facade the gRPC servicers call).
"""
