"""The rate limiter on its own, with a hand-moved clock."""

from __future__ import annotations

import pytest

from server.errors import ResourceExhausted
from server.grpc_app.interceptors import TokenBucket


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate_per_minute=60, burst=3, clock=lambda: now[0])
    for _ in range(3):
        bucket.take("t1")
    with pytest.raises(ResourceExhausted) as caught:
        bucket.take("t1")
    assert caught.value.retry_after_seconds == pytest.approx(1.0)
    bucket.take("t2")
    now[0] += 1.0
    bucket.take("t1")
    with pytest.raises(ResourceExhausted):
        bucket.take("t1")
