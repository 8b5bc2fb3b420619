"""Prometheus metrics of one service, and the ASGI guard that records them and refuses
oversized bodies before they are read."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "conveyor_requests",
            "HTTP requests by path and status.",
            ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "conveyor_request_seconds", "Request latency by path.", ["path"],
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.rows = Counter("conveyor_predicted_rows", "Rows scored.", registry=self.registry)
        self.predictions = Histogram(
            "conveyor_prediction_value", "Distribution of predicted values.",
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000), registry=self.registry,
        )  # fmt: skip
        self.model_version = Gauge(
            "conveyor_model_version", "Registry version of the model serving now.", ["model"],
            registry=self.registry,
        )  # fmt: skip
        self.candidate_version = Gauge(
            "conveyor_candidate_version", "Registry version of the candidate in release (0: none).",
            ["model"],
            registry=self.registry,
        )  # fmt: skip
        self.model_calls = Counter(
            "conveyor_model_calls", "Scoring calls by alias and outcome (ok, failed).", ["alias", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.model_seconds = Histogram(
            "conveyor_model_seconds", "Time a version takes to score a request's rows, by alias.", ["alias"],
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.refused_versions = Counter(
            "conveyor_refused_versions", "Versions not loaded: their files changed since registration.",
            ["alias", "version"], registry=self.registry,
        )  # fmt: skip
        self.off_path_dropped = Counter(
            "conveyor_off_path_dropped_rows", "Rows not scored off the response path: its queue was full.",
            registry=self.registry,
        )  # fmt: skip
        self.log_pending = Gauge(
            "conveyor_prediction_log_pending", "Predictions waiting to be written.", registry=self.registry
        )


class Guard:
    """ASGI middleware: 413 for a body over ``max_bytes`` (declared or streamed), and
    request counts and latency for every response."""

    def __init__(self, app: Any, metrics: ServiceMetrics, max_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        path = scope["path"] if scope["path"] in ("/predict", "/health", "/ready", "/metrics") else "other"

        async def send_recording(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        declared = dict(scope["headers"]).get(b"content-length")
        try:
            if declared is not None and int(declared) > self.max_bytes:
                raise _TooLarge
            if declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
                # A streamed body: read it here, up to the limit, and hand it on whole (an
                # error raised inside the app's own read would become its 400, not a 413).
                receive = await self._read_limited(receive)
            await self.app(scope, receive, send_recording)
        except _TooLarge:
            await self._refuse(send_recording)
        finally:
            self.metrics.requests.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)

    async def _read_limited(self, receive: Any) -> Any:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                raise _TooLarge
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    async def _refuse(self, send: Any) -> None:
        body = (
            b'{"detail": "request body is larger than %d bytes; send fewer instances per request"}'
            % self.max_bytes
        )
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
