"""The dashboard in a real browser: headless Chromium (the OS's `chromium` and `chromium-driver`) driven by
Selenium, against the proxy over real HTTP with echo backends, one of them killed. Only the keyboard is used."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, run_http, serve_proxy

from modelsat.serve.backend_server import create_backend_app
from modelsat.serve.backends import EchoBackend
from modelsat.serve.history import histogram_quantile
from modelsat.serve.keys import KeyRing

ADMIN, TEAM = "admin-secret", "team-secret"
PRICES = {MATH: (0.2, 0.6), CODE: (0.14, 0.28), CHAT: (2.5, 10.0)}  # CHAT is the dearest: the strongest by default
TRAFFIC = {MATH: "Prove the equation holds.", CODE: "Fix this python bug.", CHAT: "Say hello."}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the OS packages, through the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("the dashboard test needs Debian's chromium and chromium-driver (apt-get install both)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def _metrics(url: str) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {ADMIN}"}).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _sum(metrics: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in metrics.items() if n == name and set(labels.items()) <= ls)


def _quantile(metrics: dict, histogram: str, q: float, **labels: str) -> float | None:
    buckets = {
        float(dict(ls)["le"]): v
        for (n, ls), v in metrics.items()
        if n == f"{histogram}_bucket" and set(labels.items()) <= ls
    }
    return histogram_quantile(buckets, q)


@dataclass
class Opened:
    """The proxy's URL and the browser showing its dashboard, frozen (refresh paused) after the traffic."""

    url: str
    browser: Any
    metrics: dict[tuple[str, frozenset], float]


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory, echo_url: str, browser: Any) -> Iterator[Opened]:
    """Traffic through the proxy (a team key; 9 routed requests, a 404, then 2 more after mathstral's backend is
    killed), then the dashboard opened with the keyboard: a refused team key, the admin key, refresh paused."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.wait import WebDriverWait

    tmp_path = tmp_path_factory.mktemp("dashboard")
    keys_path = tmp_path / "keys.yaml"
    keys = [{"name": "ops", "key": ADMIN, "admin": True}, {"name": "team", "key": TEAM, "rpm": 50}]
    keys_path.write_text(yaml.safe_dump({"keys": keys}))
    doomed = run_http(create_backend_app(EchoBackend(), "echo"))
    math_url = doomed.__enter__() + "/v1"
    backends = {
        m: {"base_url": math_url if m == MATH else echo_url, "price": {"input": pi, "output": po}}
        for m, (pi, po) in PRICES.items()
    }
    cooldown = {"failures": 2, "window_s": 30, "cooldown_s": 120}
    options = {"keys": KeyRing.load(keys_path, {})}
    with serve_proxy(tmp_path, KeywordScorer(), backends, cooldown=cooldown, app_options=options) as (url, _):
        team = httpx.Client(base_url=url, headers={"authorization": f"Bearer {TEAM}"}, timeout=10)
        for model, n in {MATH: 4, CODE: 3, CHAT: 2}.items():
            for _ in range(n):
                body = {"model": "modelsat", "messages": [{"role": "user", "content": TRAFFIC[model]}]}
                assert team.post("/v1/chat/completions", json=body).headers["x-modelsat-model"] == model
        unknown = {"model": "nope", "messages": [{"role": "user", "content": "hi"}]}
        assert team.post("/v1/chat/completions", json=unknown).status_code == 404
        doomed.__exit__(None, None, None)  # mathstral's backend dies: its next requests fall back, then it cools
        for _ in range(2):
            body = {"model": "modelsat", "messages": [{"role": "user", "content": TRAFFIC[MATH]}]}
            reply = team.post("/v1/chat/completions", json=body)
            assert reply.headers["x-modelsat-model"] == CHAT and "x-modelsat-fallback" in reply.headers

        browser.get(f"{url}/dashboard?refresh=0.5")
        wait = WebDriverWait(browser, 10)
        wait.until(lambda b: b.find_element(By.ID, "key").is_displayed())
        assert browser.switch_to.active_element.get_attribute("id") == "key"  # the key field has the focus
        browser.switch_to.active_element.send_keys(TEAM, Keys.ENTER)  # not an admin key: refused, asked again
        wait.until(lambda b: "not an admin key" in b.find_element(By.ID, "key-error").text)
        browser.switch_to.active_element.send_keys(ADMIN, Keys.ENTER)
        wait.until(lambda b: int(b.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") or 0) >= 2)
        assert browser.switch_to.active_element.tag_name == "h1"  # the page opens at its top
        browser.switch_to.active_element.send_keys(Keys.TAB)
        assert browser.switch_to.active_element.get_attribute("id") == "pause"
        browser.switch_to.active_element.send_keys(Keys.ENTER)  # freeze the page while it is compared
        wait.until(lambda b: b.find_element(By.ID, "pause").get_attribute("aria-pressed") == "true")
        yield Opened(url, browser, _metrics(url))


def _figure(root: Any, name: str) -> tuple[str, str | None]:
    """A figure's text and exact value (`data-value`) in `root`."""
    from selenium.webdriver.common.by import By

    found = root.find_element(By.CSS_SELECTOR, f'[data-figure="{name}"]')
    return found.text, found.get_attribute("data-value")


def _row(opened: Opened, table: str, attribute: str, value: str) -> Any:
    from selenium.webdriver.common.by import By

    return opened.browser.find_element(By.CSS_SELECTOR, f'#{table} tr[data-{attribute}="{value}"]')


def test_the_dashboard_shows_the_figures_of_metrics(opened: Opened) -> None:
    metrics, page = opened.metrics, opened.browser
    routed_total = {m: _sum(metrics, "modelsat_routed_total", model=m) for m in PRICES}
    assert routed_total == {MATH: 4, CODE: 3, CHAT: 4}
    for model in PRICES:
        row = _row(opened, "traffic", "model", model)
        share = routed_total[model] / sum(routed_total.values())
        assert _figure(row, "requests-total")[0] == _figure(row, "requests")[0] == str(int(routed_total[model]))
        assert _figure(row, "share-total")[0] == f"{100 * share:.1f} %"
        cost = _sum(metrics, "modelsat_cost_usd_total", model=model)
        assert cost > 0 and float(_figure(row, "cost-total")[1]) == pytest.approx(cost, rel=1e-12)
    assert float(_figure(page, "spent")[1]) == pytest.approx(_sum(metrics, "modelsat_cost_usd_total"), rel=1e-12)
    on_strongest = _sum(metrics, "modelsat_strongest_cost_usd_total")
    assert float(_figure(page, "on-strongest")[1]) == pytest.approx(on_strongest, rel=1e-12)
    assert _figure(page, "strongest-model")[0] == CHAT
    assert _figure(page, "fallbacks-total")[0] == str(int(_sum(metrics, "modelsat_fallbacks_total"))) == "2"
    assert _figure(page, "error-responses-total")[0] == "1"  # the 404
    assert _sum(metrics, "modelsat_backend_errors_total", model=MATH, reason="unreachable") == 2
    assert _figure(_row(opened, "backend-errors", "model", MATH), "count-total")[0] == "2"
    for shown, histogram, labels in (
        ("routing", "modelsat_routing_seconds", {}),
        ("e2e", "modelsat_request_seconds", {"endpoint": "/v1/chat/completions"}),
    ):
        assert _figure(page, f"{shown}-count")[0] == str(int(_sum(metrics, f"{histogram}_count", **labels)))
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            expected = _quantile(metrics, histogram, q, **labels) * 1000
            assert float(_figure(page, f"{shown}-{name}")[1]) == pytest.approx(expected, rel=1e-9)
            assert _figure(page, f"{shown}-{name}")[0] == f"{expected:.1f} ms"
    team = _row(opened, "keys", "key", "team")
    assert _figure(team, "requests-total")[0] == str(int(_sum(metrics, "modelsat_key_requests_total", key="team")))
    assert _figure(team, "requests-total")[0] == "13"  # 12 requests, and the page opened with the team key
    assert _figure(team, "used-last-minute")[0] == "12 / 50 per min"  # the page is not rate-limited
    assert _figure(team, "errors-total")[0] == "2"  # the 404 and the page's 403


def test_a_killed_backend_shows_as_cooling_down(opened: Opened) -> None:
    math = _row(opened, "backends", "model", MATH)
    assert _figure(math, "state") == ("cooling down", "cooling")
    assert _figure(math, "last-error")[0] == "unreachable"
    assert 100 < float(_figure(math, "cooldown-left")[1]) <= 120
    assert _figure(_row(opened, "backends", "model", CODE), "state") == ("up", "up")


def test_the_try_box_ranks_models_with_the_keyboard(opened: Opened) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.wait import WebDriverWait

    browser = opened.browser
    assert browser.switch_to.active_element.get_attribute("id") == "pause"
    browser.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)  # the skip link
    browser.switch_to.active_element.send_keys(Keys.ENTER)  # to the try box
    browser.switch_to.active_element.send_keys(Keys.TAB)
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "try-text"
    prompt = "Prove that this integral is finite."
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(prompt, Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "try-output").is_displayed())
    expected = httpx.post(
        f"{opened.url}/v1/route", json={"prompt": prompt}, headers={"authorization": f"Bearer {ADMIN}"}
    ).json()
    assert browser.find_element(By.ID, "try-routing-text").text == expected["routing_text"] == prompt
    rows = browser.find_elements(By.CSS_SELECTOR, "#try-ranking tbody tr")
    assert [r.get_attribute("data-model") for r in rows] == [e["model"] for e in expected["ranking"]]
    assert [r.get_attribute("data-model") for r in rows] == [MATH, CHAT, CODE]
    assert _figure(rows[0], "available")[0] == "no (cooling down)"
    assert _figure(rows[1], "available")[0] == "yes"
    assert _figure(browser, "try-tokens")[0] == str(expected["routing_tokens"])
