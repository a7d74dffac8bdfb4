"""Real processes of the distributed mode for tests and benchmarks: Celery workers, the scheduler,
Flower. Each gets the test's settings through ``NEWSCRAWL_*`` variables, as ops would configure it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis
from pydantic import BaseModel

from newscrawl.core.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as the environment variables that reproduce them."""
    env: dict[str, str] = {}

    def put(name: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            env[name] = "true" if value else "false"
        elif isinstance(value, list | dict):
            env[name] = json.dumps(value)
        else:
            env[name] = str(value)

    for field in type(settings).model_fields:
        value = getattr(settings, field)
        if isinstance(value, BaseModel):
            for sub in type(value).model_fields:
                put(f"NEWSCRAWL_{field.upper()}__{sub.upper()}", getattr(value, sub))
        else:
            put(f"NEWSCRAWL_{field.upper()}", value)
    return env


def run_cli(settings: Settings, *argv: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """``newscrawl ARGV`` as a user runs it, configured by ``settings`` through the environment."""
    return subprocess.run(
        [sys.executable, "-m", "newscrawl", *argv],
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _port(kind: str, port: int | None) -> dict[str, str]:
    return {} if port is None else {f"NEWSCRAWL_METRICS__{kind}_PORT": str(port)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """Starts and stops the processes of one distributed crawl; ``close`` kills what is left."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.env = {**os.environ, **settings_env(settings), "PYTHONUNBUFFERED": "1"}
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # kill9 reaches the worker's pool children too
        )

    def start_worker(
        self,
        name: str,
        concurrency: int = 1,
        metrics_port: int | None = None,
        *,
        clock_skew_s: float = 0,
        retry_wait_max_s: float = 0,
        pool: str = "prefork",
    ) -> None:
        """``clock_skew_s``: the worker's wall clock runs that far off; ``retry_wait_max_s``: its
        waits between attempts to reach the broker last at most that long (tests/subprocess_clock)."""
        argv = [sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel", "INFO"]
        # The crawl's prefix in the node name: Flower, the broker's control and event messages see
        # every worker on a broker, those of a test running beside this one too.
        hostname = f"{name}.{self.settings.redis_prefix}@%h"
        argv += ["--concurrency", str(concurrency), "--hostname", hostname, "--without-gossip"]
        argv += ["--pool", pool]  # and the queue of the settings, as a user starts it
        env = _port("WORKER", metrics_port)
        if clock_skew_s or retry_wait_max_s:
            path = [str(REPO / "tests" / "subprocess_clock"), self.env.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
            env["NEWSCRAWL_TEST_CLOCK_SKEW_S"] = str(clock_skew_s)
            env["NEWSCRAWL_TEST_RETRY_WAIT_MAX_S"] = str(retry_wait_max_s)
        self._start(name, argv, env)

    def start_scheduler(
        self, name: str = "scheduler", *, until_idle: bool = True, metrics_port: int | None = None
    ) -> None:
        argv = [sys.executable, "-m", "newscrawl", "scheduler"]
        self._start(name, argv + (["--until-idle"] if until_idle else []), _port("SCHEDULER", metrics_port))

    def start_indexer(
        self, name: str = "indexer", *, until_drained: bool = False, metrics_port: int | None = None
    ) -> None:
        argv = [sys.executable, "-m", "newscrawl", "indexer", "--name", name]
        self._start(
            name, argv + (["--until-drained"] if until_drained else []), _port("INDEXER", metrics_port)
        )

    def start_flower(self, port: int) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "workers", "flower", f"--port={port}"]
        argv += ["--address=127.0.0.1"]
        self._start("flower", argv, {"FLOWER_UNAUTHENTICATED_API": "true"})

    def kill9(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str, timeout_s: float = 30) -> None:
        """A warm shutdown (SIGTERM): a worker finishes its task first."""
        proc = self.procs.pop(name)
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def wait(self, name: str, timeout_s: float) -> int:
        proc = self.procs[name]
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{name} still running after {timeout_s}s\n{self.tail(name)}") from exc

    def wait_ready(self, name: str, timeout_s: float = 60) -> None:
        """Until the Celery worker ``name`` logs that it takes tasks."""
        deadline = time.monotonic() + timeout_s
        while " ready." not in self.tail(name, 200_000):
            assert time.monotonic() < deadline and self.alive(name), self.tail(name)
            time.sleep(0.2)

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text("utf-8", "replace")[-chars:] if path.exists() else ""

    def close(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def get_json(url: str, timeout_s: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read())


class PrivateRedis:
    """A redis-server of the test's own, with AOF, that the test can stop and start again; not
    ``persistent``: without AOF or snapshots, as a cache is run (it comes back empty)."""

    def __init__(self, data: Path, *, persistent: bool = True) -> None:
        self.port = free_port()
        self.data = data
        self.persistent = persistent
        data.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data)]
        argv += ["--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always", "--save", ""]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.ping():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def freeze(self) -> None:
        """SIGSTOP: connections hang rather than fail, as in a partition."""
        assert self.proc is not None, "not started"
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None, "not started"
        os.kill(self.proc.pid, signal.SIGCONT)

    def ping(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def shutdown(self) -> None:
        """As ops restart it: SHUTDOWN (the AOF is complete), then the process is gone."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown"], capture_output=True, check=False)
        assert self.proc is not None
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class PrivateRabbitMQ:
    """A RabbitMQ node of the test's own (Debian's rabbitmq-server), on a free port, that the test
    can stop and start again: queues are durable and messages persistent, so a restart keeps what
    was queued. Its data lives in a directory of its own under the system's temporary directory
    (the node runs as the rabbitmq user, who cannot enter pytest's per-user directories), removed
    by ``close``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.node = f"nctest{self.port}@localhost"
        self.data = Path(tempfile.mkdtemp(prefix="newscrawl-rabbitmq-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        d = self.data
        return {
            **os.environ,
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(d / "feature_flags"),
            "RABBITMQ_QUORUM_DIR": str(d / "quorum"),
            "RABBITMQ_STREAM_DIR": str(d / "stream"),
            "RABBITMQ_PID_FILE": str(d / "pid"),
            "ERL_CRASH_DUMP": str(d / "erl_crash.dump"),
        }

    def start(self, timeout_s: float = 60) -> None:
        # Its own listener: the machine's node (if any) holds the standard port.
        (self.data / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        if os.geteuid() == 0:  # Debian's script runs the node as the rabbitmq user
            subprocess.run(["chown", "-R", "rabbitmq:", str(self.data)], check=True)
        log = open(self.data / "server.out", "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            ["rabbitmq-server"], cwd=self.data, env=self._env(), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while not self.accepting():
            assert self.proc.poll() is None, (self.data / "server.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "rabbitmq-server did not start"
            time.sleep(0.1)

    def accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def node_pid(self) -> int:
        """The Erlang VM's process (the server script's child)."""
        return int((self.data / "pid").read_text().strip())

    def freeze(self) -> None:
        """SIGSTOP: connections hang rather than fail, as in a partition."""
        os.kill(self.node_pid(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.node_pid(), signal.SIGCONT)

    def shutdown(self) -> None:
        """As ops restart it: ``rabbitmqctl stop`` (a clean stop), then the process is gone."""
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, "stop"], env=self._env(), capture_output=True, check=False
        )
        assert self.proc is not None
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # no pid file yet: the node never came up
                os.kill(self.node_pid(), signal.SIGCONT)  # a frozen node cannot stop
            self.shutdown()
        shutil.rmtree(self.data, ignore_errors=True)
