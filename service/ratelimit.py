"""A token bucket per key: bursts up to a minute's allowance, refilled continuously.

The desk keeps two: requests per minute (every route, so cheap reads are bounded too) and characters of
comment text per minute (the routes that score: what a request costs is the work it asks for).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

#: Buckets kept before full ones are forgotten.
_PRUNE_AT = 10_000


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, key: str, cost: float = 1.0) -> int | None:
        """None when ``key`` may spend ``cost`` now (and it is spent), else the whole seconds until it may
        (``Retry-After``). A cost over a minute's allowance is taken as the whole allowance: it goes ahead
        once the bucket is full, and empties it."""
        if self.per_minute <= 0:
            return None
        capacity = float(self.per_minute)
        cost = min(max(cost, 0.0), capacity)
        rate = capacity / 60.0
        with self._lock:
            now = self._clock()
            if len(self._buckets) > _PRUNE_AT:  # forget keys whose bucket has refilled (client addresses come and go)
                self._buckets = {k: (t, a) for k, (t, a) in self._buckets.items() if t + (now - a) * rate < capacity}
            tokens, at = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((cost - tokens) / rate))
