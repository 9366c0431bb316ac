"""Several replicas on one machine, for a local try and for the replicas benchmark: a `redis-server`, N
`modelsat serve` processes sharing it (serve.yaml's `state`), echo backends, and HAProxy balancing requests
over the replicas, all on loopback. Everything started is stopped on exit (Ctrl-C included).

Example:
    $ python -m modelsat.serve.cluster --config configs/serve.replicas.yaml --replicas 3 --port 8000 --echo 8102
    $ curl -s localhost:8000/v1/chat/completions -d '{"model": "modelsat", "messages": [...]}'
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx
import yaml

from modelsat.errors import ConfigError

CLI = [sys.executable, "-m", "modelsat.cli.main"]


def need(program: str, package: str) -> str:
    """The path of `program`.

    Raises:
        ConfigError: when it is not installed, naming the Debian package that has it.
    """
    found = shutil.which(program)
    if found is None:
        raise ConfigError(f"{program} is not installed: apt-get install -y {package}")
    return found


def wait_http(url: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers 200.

    Raises:
        RuntimeError: after `timeout_s`, or when `process` exits first.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with status {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes], kill: bool = False) -> None:
    """End `process` (SIGTERM, or SIGKILL with `kill`) and reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """A `redis-server` on a loopback port, without persistence: a kill loses its data, as a crash of a cache does."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:PORT/0`."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        """Start it and wait until it answers a ping."""
        command = [need("redis-server", "redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir), "--loglevel", "warning"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        """Whether it answers a ping now."""
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            with Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5) as client:
                return bool(client.ping())
        except RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL it (an outage: clients see their connections drop)."""
        if self.process is not None:
            stop(self.process, kill=True)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def haproxy_config(port: int, replicas: Sequence[int]) -> str:
    """HAProxy in HTTP mode on loopback `port`, round-robin per request over `replicas`, checking /healthz."""
    servers = "\n".join(
        f"  server replica{i} 127.0.0.1:{p} check inter 1s fall 2 rise 1" for i, p in enumerate(replicas)
    )
    return f"""global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 300s
  timeout server 300s
  option http-keep-alive
  retry-on conn-failure
  retries 2
frontend modelsat
  bind 127.0.0.1:{port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /healthz
{servers}
"""


class Cluster:
    """Redis (when the config's `state` is a loopback redis:// URL), echo backends, N proxies and HAProxy.

    `proxy_urls` are the replicas' own addresses; `url` is the load balancer's.
    """

    def __init__(
        self, config: Path, replicas: int, port: int, echo_ports: Sequence[int] = (), workdir: Path | None = None
    ) -> None:
        self.config = Path(config)
        self.port = port
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="modelsat-replicas-"))
        self.proxy_ports = [port + 1 + i for i in range(replicas)]
        self.echo_ports = list(echo_ports)
        self.echoes: dict[int, subprocess.Popen[bytes]] = {}
        self.proxies: list[subprocess.Popen[bytes]] = []
        self.redis: RedisServer | None = None
        self._stack = ExitStack()

    @property
    def url(self) -> str:
        """The load balancer's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_urls(self) -> list[str]:
        """Each replica's own base URL."""
        return [f"http://127.0.0.1:{p}" for p in self.proxy_ports]

    def start(self, timeout_s: float = 300) -> "Cluster":
        """Start everything and wait until every part answers."""
        try:
            state = yaml.safe_load(self.config.read_text()).get("state", "memory")
            if state != "memory":
                parts = urlsplit(state)
                if parts.hostname not in ("127.0.0.1", "localhost"):
                    raise ConfigError(f"{self.config}: state: the cluster starts Redis on loopback only, not {state}")
                self.redis = RedisServer(parts.port or 6379, self.workdir).start()
            for port in self.echo_ports:
                self.start_echo(port)
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            for i, port in enumerate(self.proxy_ports):
                log = open(self.workdir / f"replica{i}.log", "wb")  # noqa: SIM115 - closed with the stack
                self._stack.callback(log.close)
                command = [*CLI, "serve", "--config", str(self.config), "--port", str(port)]
                self.proxies.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
            for url, proxy in zip(self.proxy_urls, self.proxies, strict=True):
                wait_http(url + "/healthz", timeout_s, proxy)
            (self.workdir / "haproxy.cfg").write_text(haproxy_config(self.port, self.proxy_ports))
            command = [need("haproxy", "haproxy"), "-db", "-f", str(self.workdir / "haproxy.cfg")]
            balancer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._stack.callback(stop, balancer)
            wait_http(self.url + "/healthz", 30, balancer)
        except BaseException:
            self.close()
            raise
        return self

    def start_echo(self, port: int) -> None:
        """(Re)start the echo backend on `port`."""
        command = [*CLI, "backend", "--model", "echo", "--port", str(port)]
        self.echoes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{port}/healthz", 60, self.echoes[port])

    def kill_echo(self, port: int) -> None:
        """SIGKILL the echo backend on `port`."""
        stop(self.echoes[port], kill=True)

    def close(self) -> None:
        """Stop the balancer, the proxies, the backends and Redis."""
        self._stack.close()
        for process in [*self.proxies, *self.echoes.values()]:
            stop(process)
        if self.redis is not None:
            self.redis.kill()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def main() -> None:
    """`make replicas`: start the cluster, print its addresses, stop everything on Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/serve.replicas.yaml"))
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--port", type=int, default=8000, help="the load balancer's; replicas take the next ports")
    parser.add_argument("--echo", type=int, action="append", default=[], help="start an echo backend on this port")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops everything as Ctrl-C does
    with Cluster(args.config, args.replicas, args.port, args.echo) as cluster:
        print(f"load balancer (HAProxy): {cluster.url}", flush=True)
        for url in cluster.proxy_urls:
            print(f"replica: {url}", flush=True)
        if cluster.redis is not None:
            print(f"shared state: {cluster.redis.url}", flush=True)
        print(f"logs: {cluster.workdir}; Ctrl-C stops everything", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()
