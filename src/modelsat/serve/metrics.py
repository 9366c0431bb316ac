"""Prometheus metrics of one proxy app, in its own `CollectorRegistry` (two apps never share counters).

Example:
    metrics = Metrics()
    metrics.routed.labels(model="mathstral-7B").inc()
    text = metrics.render()  # Prometheus exposition format, served at GET /metrics
"""

import contextlib

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Counters and histograms of requests, routing decisions and backend calls; gauges of backend states.

    Per-key series are labelled with the key's name from keys.yaml (`env-1`, ... for MODELSAT_API_KEYS), never
    with the key.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "modelsat_requests", "HTTP requests by endpoint and status.", ["endpoint", "status"], registry=self.registry
        )
        self.routed = Counter(
            "modelsat_routed", "Requests answered by each model after routing.", ["model"], registry=self.registry
        )
        self.routing_seconds = Histogram(
            "modelsat_routing_seconds",
            "Time from a request's arrival at the router to its ranking (batch wait included).",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "modelsat_request_seconds",
            "Time from a request's arrival to its last byte sent (a stream's whole length), by endpoint.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "modelsat_routing_batch_size",
            "Instructions scored per router call.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.backend_seconds = Histogram(
            "modelsat_backend_seconds",
            "Backend latency: whole reply, or time to the first event when streaming.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.backend_errors = Counter(
            "modelsat_backend_errors",
            "Failed backend calls by model and reason.",
            ["model", "reason"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "modelsat_fallbacks", "Requests answered by a lower-ranked model after a failure.", registry=self.registry
        )
        self.cost = Counter(
            "modelsat_cost_usd",
            "Estimated spend from reported token usage and configured prices.",
            ["model"],
            registry=self.registry,
        )
        self.strongest_cost = Counter(
            "modelsat_strongest_cost_usd",
            "What the same answers would have cost on the strongest model (serve.yaml `strongest`), at their "
            "reported token usage.",
            registry=self.registry,
        )

        self.backend_up = Gauge(
            "modelsat_backend_up",
            "1 when a backend takes requests, 0 while it cools down or awaits its probe.",
            ["model"],
            registry=self.registry,
        )
        self.cooldowns = Counter(
            "modelsat_backend_cooldowns", "Cool-downs started per backend.", ["model"], registry=self.registry
        )
        self.stream_interruptions = Counter(
            "modelsat_stream_interruptions",
            "Streams ended with a stream_interrupted error event, by model and reason (broken, idle, unfinished).",
            ["model", "reason"],
            registry=self.registry,
        )
        self.key_requests = Counter(
            "modelsat_key_requests", "Requests by API key name and status.", ["key", "status"], registry=self.registry
        )
        self.key_cost = Counter(
            "modelsat_key_cost_usd", "Estimated spend by API key name.", ["key"], registry=self.registry
        )
        self.reloads = Counter(
            "modelsat_reloads", "Reloads by result (applied, refused).", ["result"], registry=self.registry
        )
        self.generation = Gauge(
            "modelsat_config_generation",
            "Reloads applied since start-up (0: the start-up config).",
            registry=self.registry,
        )
        self.served_models = Gauge("modelsat_served_models", "Models served now.", registry=self.registry)

    def backend_state(self, model: str, state: str) -> None:
        """Record a backend's state change (`up`, `cooling`, `probing`)."""
        self.backend_up.labels(model=model).set(1 if state == "up" else 0)
        if state == "cooling":
            self.cooldowns.labels(model=model).inc()

    def forget_backend(self, model: str) -> None:
        """Drop the state gauge of a backend that left the config."""
        with contextlib.suppress(KeyError):  # never set for this model
            self.backend_up.remove(model)

    def render(self) -> bytes:
        """All metrics in the Prometheus text format."""
        return generate_latest(self.registry)
