"""Prometheus metrics, one registry per app (so test apps do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "moderation_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "moderation_request_seconds", "Time to answer a request", ["route"], registry=self.registry
        )
        self.comments = Counter("moderation_comments_scored", "Comments scored", registry=self.registry)
        self.batch_requests = Histogram(
            "moderation_batch_requests",
            "Requests sharing one forward pass",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.batch_seconds = Histogram("moderation_batch_seconds", "Time of one forward pass", registry=self.registry)

    def observe_batch(self, requests: int, comments: int, seconds: float) -> None:
        self.batch_requests.observe(requests)
        self.comments.inc(comments)
        self.batch_seconds.observe(seconds)
