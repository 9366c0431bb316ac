"""Recent metrics for the dashboard: windows over counter snapshots, histogram percentiles, the strongest model."""

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from serve_doubles import write_config

from modelsat.errors import ConfigError
from modelsat.serve.history import MetricsHistory, histogram_quantile


def test_histogram_quantile_interpolates_within_the_bucket_holding_the_rank() -> None:
    # 10 observations: 4 under 0.1 s, 4 between 0.1 and 0.5 s, 2 over 1 s
    buckets = {0.1: 4.0, 0.5: 8.0, 1.0: 8.0, float("inf"): 10.0}
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.1 + 0.4 * (5 - 4) / 4)
    assert histogram_quantile(buckets, 0.2) == pytest.approx(0.1 * 2 / 4)
    assert histogram_quantile(buckets, 0.99) == 1.0  # in the +Inf bucket: the last finite bound
    assert histogram_quantile({0.1: 0.0, float("inf"): 0.0}, 0.5) is None


def test_a_window_counts_what_changed_since_the_snapshot_at_its_start() -> None:
    now = [0.0]
    registry = CollectorRegistry()
    routed = Counter("routed", "", ["model"], registry=registry)
    latency = Histogram("lat", "", buckets=(0.1, 1.0), registry=registry)
    history = MetricsHistory(registry, clock=lambda: now[0])
    routed.labels(model="a").inc(3)
    latency.observe(0.05)
    now[0] = 100.0
    history.sample()
    routed.labels(model="a").inc(2)
    routed.labels(model="b").inc(1)
    latency.observe(0.5)
    now[0] = 130.0

    young = history.window(300)  # the history is younger than the window: everything since start
    assert young.seconds == 130.0
    assert young.by_label("routed_total", "model") == {"a": 5.0, "b": 1.0}
    last_half_minute = history.window(30)
    assert last_half_minute.seconds == 30.0
    assert last_half_minute.by_label("routed_total", "model") == {"a": 2.0, "b": 1.0}
    assert last_half_minute.by_label("routed_total", "model", since_start=True) == {"a": 5.0, "b": 1.0}
    assert last_half_minute.total("lat_count") == 1.0
    assert last_half_minute.quantile("lat", 0.5) == pytest.approx(0.1 + 0.9 * 0.5)
    assert young.quantile("lat", 0.5) == pytest.approx(0.1)


def test_old_snapshots_are_forgotten_but_one_covering_the_longest_window_stays() -> None:
    now = [0.0]
    registry = CollectorRegistry()
    Counter("c", "", registry=registry)
    history = MetricsHistory(registry, keep_s=60, clock=lambda: now[0])
    for t in range(10, 200, 10):
        now[0] = float(t)
        history.sample()
    assert history.window(60).seconds == 60.0
    assert history.window(600).seconds == 60.0  # older ones are gone: the newest at least 60 s old is kept


def test_the_strongest_model_is_the_configured_one_or_the_dearest(tmp_path) -> None:
    priced = {
        "a": {"base_url": "http://127.0.0.1:1/v1", "price": {"input": 1.0, "output": 2.0}},
        "b": {"base_url": "http://127.0.0.1:1/v1", "price": {"input": 0.5, "output": 5.0}},
        "c": "http://127.0.0.1:1/v1",
    }
    assert write_config(tmp_path, priced).strongest_model() == "b"
    assert write_config(tmp_path, priced, strongest="a").strongest_model() == "a"
    assert write_config(tmp_path, {"c": "http://127.0.0.1:1/v1"}).strongest_model() is None
    with pytest.raises(ConfigError, match="strongest 'c' must name a backend with a price"):
        write_config(tmp_path, priced, strongest="c")
