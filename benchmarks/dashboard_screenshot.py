"""A screenshot of `modelsat serve`'s /dashboard (docs/img/dashboard.png), taken in headless Chromium.

It runs the real thing on loopback: two `modelsat backend --model echo` processes stand in for six `mixed`-zoo
models at the prices of configs/prices/mixed.yaml, `modelsat serve` routes with the shipped `routers/default`
(fast mode) behind a keys file, and two dozen requests go through it from two keys, a third of them with the
`cheap` trade-off. Then the backend serving DeepSeek-Coder-V2 (the model most requests go to) is killed, so the
next requests fall back and it cools down; the page is opened with the admin key, one request is ranked in the
try box under the `cheap` trade-off, and the whole page is captured. The echo backends report a token usage, so
spend is counted from them.

Example:
    $ .venv/bin/python benchmarks/dashboard_screenshot.py -o docs/img/dashboard.png
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from modelsat.serve.cluster import wait_http

ROOT = Path(__file__).resolve().parent.parent
ADMIN, TEAMS = "ops-key", {"team-math": "math-key", "team-support": "support-key"}
PRICES = {  # USD per 1M tokens, configs/prices/mixed.yaml
    "DeepSeek-Coder-V2": (0.14, 0.28),
    "Mixtral-8x7B-Instruct-v0.1": (0.60, 0.60),
    "c4ai-command-r-v01": (0.50, 1.50),
    "mathstral-7B": (0.25, 0.25),
    "Qwen1.5-7B-Chat": (0.20, 0.20),
    "Meta-Llama-3_1-8B": (0.18, 0.18),
}
DOOMED = "DeepSeek-Coder-V2"
STARTUP_S = 900.0  # a proxy loading the router on a busy machine
PROMPTS = [
    "Prove that the sum of two even integers is even.",
    "Write a Python function that reverses a linked list.",
    "What is the capital of Australia, and why is it not Sydney?",
    "Explain the difference between mitosis and meiosis.",
    "A firm's revenue rose from $2.0M to $2.5M. What is the percentage growth?",
    "Which amendment to the US Constitution protects against self-incrimination?",
    "Compute the derivative of x^3 * sin(x).",
    "What does a high P/E ratio suggest about a stock?",
    "Summarise the causes of the First World War in three sentences.",
    "Balance the equation: Fe + O2 -> Fe2O3.",
]


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def process(*args: str) -> Iterator[subprocess.Popen]:
    """`modelsat ARGS` in a child process, terminated on exit."""
    child = subprocess.Popen([sys.executable, "-m", "modelsat", *args], env=os.environ.copy())
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=30)


def write_config(folder: Path, ports: tuple[int, int]) -> Path:
    """serve.yaml and keys.yaml in `folder`; DOOMED's backend is the first port's."""
    keys = [{"name": "ops", "key": ADMIN, "admin": True}]
    keys += [{"name": name, "key": key, "rpm": 60} for name, key in TEAMS.items()]
    (folder / "keys.yaml").write_text(yaml.safe_dump({"keys": keys}))
    backends = {
        model: {
            "base_url": f"http://127.0.0.1:{ports[0] if model == DOOMED else ports[1]}/v1",
            "model": "echo",
            "timeout_s": 5,
            "price": {"input": pin, "output": pout},
        }
        for model, (pin, pout) in PRICES.items()
    }
    config = {
        "router": str(ROOT / "routers/default"),
        "cards": str(ROOT / "routers/default/cards.json"),
        "mode": "fast",
        "keys": "keys.yaml",
        "cooldown": {"failures": 2, "window_s": 30, "cooldown_s": 600},
        "tradeoffs": {"cheap": {"lambda": 5000}},
        "backends": backends,
    }
    path = folder / "serve.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def send(url: str, key: str, prompt: str, model: str = "modelsat") -> None:
    """One chat completion through the proxy."""
    body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}
    reply = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=900)
    reply.raise_for_status()


def screenshot(url: str, out: Path) -> None:
    """Open the dashboard with the admin key, rank one request in the try box, capture the whole page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,900"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    try:
        browser.get(f"{url}/dashboard")
        wait = WebDriverWait(browser, 600)
        wait.until(lambda b: b.find_element(By.ID, "key").is_displayed())
        browser.find_element(By.ID, "key").send_keys(ADMIN, Keys.ENTER)
        wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        Select(browser.find_element(By.ID, "try-model")).select_by_value("modelsat/cheap")
        box = browser.find_element(By.ID, "try-text")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("Write a Python function that checks whether a string is a palindrome.", Keys.CONTROL, Keys.ENTER)
        wait.until(lambda b: b.find_element(By.ID, "try-output").is_displayed())
        chrome_height = browser.execute_script("return window.outerHeight - window.innerHeight")
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1440, height + chrome_height)
        browser.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(out))
    finally:
        browser.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs/img/dashboard.png")
    args = parser.parse_args()
    ports = (free_port(), free_port())
    proxy_port = free_port()
    url = f"http://127.0.0.1:{proxy_port}"
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), ports)
        with (
            process("backend", "--model", "echo", "--port", str(ports[0])) as doomed,
            process("backend", "--model", "echo", "--port", str(ports[1])),
        ):
            for port in ports:
                wait_http(f"http://127.0.0.1:{port}/v1/models", STARTUP_S)
            with process("serve", "--config", str(config), "--port", str(proxy_port)):
                wait_http(f"{url}/healthz", STARTUP_S)
                keys = list(TEAMS.values())
                for i in range(24):
                    send(url, keys[i % 2], PROMPTS[i % len(PROMPTS)], "modelsat/cheap" if i % 3 == 0 else "modelsat")
                doomed.terminate()
                doomed.wait(timeout=30)
                for prompt in PROMPTS[:4]:
                    send(url, keys[0], prompt)
                screenshot(url, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
