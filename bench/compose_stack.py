"""The Compose stack, run for real: images built, the stack up, a crawl end to end; prints JSON.

1. Starts ``dockerd`` if no engine answers (and stops it at the end).
2. Builds the base image from Debian's packages where none can be pulled
   (deploy/make-base-image.sh), newscrawl's image on it (deploy/build-image.sh, with osmem-server,
   EXTRAS=ops,engine) and Redis from Debian's packages (deploy/Dockerfile.redis).
3. ``docker-compose -f deploy/compose.yaml -f deploy/compose.test.yaml up`` with two workers:
   Redis with AOF, osmem-server in place of Elasticsearch, the indexer, the scheduler, Flower;
   the replay web (tests/replay.py) is served by this process on the stack's network gateway
   and reached through the crawler's proxy setting. Time until every container is healthy.
4. While the crawl runs: ``up --scale worker=4``; Flower must list four workers that each ran
   tasks. The crawl ends with every indexed article searchable in the engine (its count equals
   the workers' articles_indexed counter, and the stream is drained).
5. A story is published, then ``docker-compose down`` (volumes kept) and ``up``: the counters in
   Redis are where they were, the new story is found and indexed, and no article crawled before
   is fetched a second time (the frontier and its seen filter survived in Redis's AOF). The
   engine, in memory, starts empty: with Elasticsearch's volume the index would stay too.
6. ``down -v``: every container, network and volume it made is removed.

Usage: python bench/compose_stack.py
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newscrawl.app.localweb import LocalWeb  # noqa: E402
from tests.replay import build_replay_web  # noqa: E402

IMAGE = "newscrawl:compose-test"
REDIS_IMAGE = "newscrawl-redis:bookworm"
SUBNET, GATEWAY = "172.29.0.0/24", "172.29.0.1"
ENGINE_PORT = 19200
FLOWER = "http://127.0.0.1:5555"
AUTH = "Basic " + base64.b64encode(b"admin:change-me").decode()


def sh(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def engine_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def start_dockerd(tmp: Path) -> subprocess.Popen[bytes] | None:
    if engine_up():
        return None
    log = open(tmp / "dockerd.log", "wb")  # noqa: SIM115 - lives as long as the daemon
    proc = subprocess.Popen(["dockerd", "--storage-driver=overlay2"], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        if engine_up():
            return proc
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("dockerd did not start: " + (tmp / "dockerd.log").read_text()[-2000:])


def get_json(url: str, *, auth: bool = False) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": AUTH} if auth else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def engine_count() -> int:
    try:
        return int(get_json(f"http://127.0.0.1:{ENGINE_PORT}/newscrawl/_count")["count"])
    except OSError:
        return -1


class Stack:
    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project = project
        self.env = env
        self.base = [
            "docker-compose",
            "-p",
            project,
            "-f",
            "deploy/compose.yaml",
            "-f",
            "deploy/compose.test.yaml",
        ]

    def dc(self, *args: str, timeout: float = 600) -> str:
        return sh(
            [*self.base, "--project-directory", str(REPO / "deploy"), *args], env=self.env, timeout=timeout
        )

    def containers(self) -> list[str]:
        out = sh(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"])
        return out.split()

    def health(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for cid in self.containers():
            info = json.loads(sh(["docker", "inspect", cid]))[0]
            name = info["Config"]["Labels"].get("com.docker.compose.service", cid)
            number = info["Config"]["Labels"].get("com.docker.compose.container-number", "1")
            state = info["State"]
            out[f"{name}-{number}"] = (state.get("Health") or {}).get("Status", state["Status"])
        return out

    def wait_healthy(self, timeout_s: float = 300) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            health = self.health()
            if health and all(s == "healthy" for s in health.values()):
                return round(time.monotonic() - start, 1)
            time.sleep(1.0)
        raise SystemExit(
            f"not healthy after {timeout_s}s: {self.health()}\n{self.dc('logs', '--tail', '30')}"
        )

    def redis(self, *command: str) -> str:
        return self.dc("exec", "-T", "redis", "redis-cli", *command).strip()

    def counters(self) -> dict[str, int]:
        lines = self.redis("HGETALL", "newscrawl:stats:counters").splitlines()
        return {k: int(v) for k, v in zip(lines[::2], lines[1::2], strict=True) if v.lstrip("-").isdigit()}


def publish_story(web: LocalWeb, hosts: dict[str, list[str]]) -> str:
    """A new story on the first host, teased on its home page and listed in its feed.

    What a resumed crawl must find: the home page is revisited within minutes; the replay feeds
    date their items years back, so the adaptive schedule visits them daily."""
    from newscrawl.app.localweb import Resource, resource_key

    host = sorted(hosts)[0]
    url = f"http://{host}/replay-a-story-published-while-the-stack-was-down"
    paragraphs = "".join(
        f"<p>Paragraph {i} of the story that came out while the crawler's containers were down,"
        f" written so that it is long enough to be an article body of its own.</p>"
        for i in range(8)
    )
    web.add(
        url,
        Resource(
            f"<html><head><title>A story published while the stack was down</title></head><body>"
            f"<article><h1>A story published while the stack was down</h1>{paragraphs}</article>"
            f"</body></html>".encode()
        ),
    )
    feed = web.resources[resource_key(f"http://{host}/replay-feed.xml")]
    item = f"<item><title>A story published while the stack was down</title><link>{url}</link></item>"
    listed = feed.body.replace(b"</channel>", item.encode() + b"</channel>")
    web.add(f"http://{host}/replay-feed.xml", Resource(listed, content_type="application/xml"))
    home = web.resources[resource_key(f"http://{host}/")]
    teaser = (
        f"<article class='teaser'><h3><a href='{url}'>A story published while the stack was down</a></h3>"
    )
    web.add(
        f"http://{host}/", Resource(home.body.replace(b"<main>", b"<main>" + teaser.encode() + b"</article>"))
    )
    return url


def workers_with_tasks() -> dict[str, int]:
    workers = get_json(f"{FLOWER}/api/workers?refresh=1", auth=True)
    return {name: sum((info.get("stats") or {}).get("total", {}).values()) for name, info in workers.items()}


def wait_crawled(stack: Stack, timeout_s: float) -> dict[str, Any]:
    """Until the index stops growing for 30 s with the stream drained and nothing pending."""
    start = time.monotonic()
    last, since = -1, time.monotonic()
    while time.monotonic() - start < timeout_s:
        count = engine_count()
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since > 30:
            pending = stack.redis("XPENDING", "newscrawl:index:stream", "indexers").splitlines()
            if not pending or pending[0] == "0":
                return {"indexed": count, "seconds": round(time.monotonic() - start, 1)}
        time.sleep(2.0)
    raise SystemExit(f"crawl not done after {timeout_s}s (index: {last})")


def main() -> None:
    corpora = Path(os.environ.get("NEWSCRAWL_CORPORA", REPO.parent / "shared" / "corpora"))
    if shutil.which("docker-compose") is None or shutil.which("dockerd") is None:
        raise SystemExit("needs Debian's docker.io and docker-compose packages")
    out: dict[str, Any] = {}
    project = f"ncstack{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="ncstack-") as tmp_name:
        tmp = Path(tmp_name)
        dockerd = start_dockerd(tmp)
        out["dockerd_started_here"] = dockerd is not None
        web = None
        stack = None
        try:
            t = time.monotonic()
            sh(["bash", "deploy/build-image.sh", IMAGE, "ops,engine"])
            out["build_s"] = round(time.monotonic() - t, 1)
            sh(["docker", "build", "-q", "-f", "deploy/Dockerfile.redis", "-t", REDIS_IMAGE, "deploy"])
            sh(["bash", "deploy/build-image.sh", "newscrawl:compose-plain", "ops"])
            sizes = {
                name: int(sh(["docker", "image", "inspect", "-f", "{{.Size}}", name]))
                for name in ("newscrawl-base:bookworm", IMAGE, "newscrawl:compose-plain", REDIS_IMAGE)
            }
            out["image_mb"] = {k: round(v / 1e6, 1) for k, v in sizes.items()}

            web = LocalWeb(bind=GATEWAY)
            replay = build_replay_web(corpora, web=web)
            outlets = tmp / "outlets.toml"
            outlets.write_text(replay.outlets_toml)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("NEWSCRAWL_")},
                "NEWSCRAWL_IMAGE": IMAGE,
                "NEWSCRAWL_REDIS_IMAGE": REDIS_IMAGE,
                "NEWSCRAWL_TEST_OUTLETS": str(outlets),
                "NEWSCRAWL_TEST_SUBNET": SUBNET,
                "NEWSCRAWL_TEST_GATEWAY": GATEWAY,
                "NEWSCRAWL_TEST_ENGINE_PORT": str(ENGINE_PORT),
                "NEWSCRAWL_TEST_PROXY": "http://placeholder:1",
            }
            stack = Stack(project, env)
            stack.dc("up", "--no-start", "--scale", "worker=2")  # the network, so its gateway exists
            web.start()
            stack.env["NEWSCRAWL_TEST_PROXY"] = web.proxy_url
            stack.dc("up", "-d", "--no-build", "--force-recreate", "--scale", "worker=2")
            out["seconds_to_healthy"] = stack.wait_healthy()
            out["containers"] = stack.health()

            # Scale while the crawl runs: the new workers must take tasks.
            while engine_count() < 20:
                time.sleep(1.0)
            stack.dc("up", "-d", "--no-build", "--no-recreate", "--scale", "worker=4")
            out["seconds_to_healthy_after_scaling"] = stack.wait_healthy()
            crawl = wait_crawled(stack, timeout_s=900)
            counters = stack.counters()
            workers = workers_with_tasks()
            article_urls = set(replay.pages)
            fetched = [e.url for e in web.log if e.url in article_urls]
            out["crawl"] = {
                **crawl,
                "replay_articles": len(article_urls),
                "article_fetches": len(fetched),
                "articles_indexed_counter": counters.get("articles_indexed"),
                "pages_fetched": counters.get("pages_fetched"),
                "workers_tasks": workers,
            }
            assert len(workers) == 4 and all(n > 0 for n in workers.values()), workers
            assert crawl["indexed"] == counters.get("articles_indexed"), (crawl, counters)

            # down (volumes kept) and up: Redis's AOF brings the frontier and the counters back; a
            # story published meanwhile is found, and nothing crawled before is fetched again.
            fetched_before = len(web.log)
            new_url = publish_story(web, replay.hosts)
            stack.dc("down")
            stack.dc("up", "-d", "--no-build", "--scale", "worker=2")
            out["seconds_to_healthy_after_down_up"] = stack.wait_healthy()
            waited = time.monotonic()
            while time.monotonic() - waited < 400:
                if any(e.url == new_url for e in web.log[fetched_before:]):
                    break
                time.sleep(2.0)
            new_found_s = round(time.monotonic() - waited, 1)
            while engine_count() < 1 and time.monotonic() - waited < 460:
                time.sleep(1.0)
            after = stack.counters()
            later = web.log[fetched_before:]
            refetched = [e.url for e in later if e.url in article_urls]
            out["after_down_up"] = {
                "counters_kept": all(after.get(k, 0) >= v for k, v in counters.items()),
                "pages_fetched_before": counters.get("pages_fetched"),
                "pages_fetched_after": after.get("pages_fetched"),
                "source_revisits_after_restart": sum(1 for e in later if e.url not in article_urls),
                "new_story_fetched_after_s": new_found_s,
                "new_story_indexed": engine_count() == 1,
                "articles_fetched_again": len(refetched),
            }
            assert not refetched, refetched[:5]
            assert out["after_down_up"]["counters_kept"], (counters, after)
            assert out["after_down_up"]["new_story_indexed"], out["after_down_up"]
        finally:
            if stack is not None:
                with contextlib.suppress(SystemExit):
                    stack.dc("down", "-v", "--remove-orphans", "--timeout", "20")
                left = stack.containers()
                nets = sh(
                    [
                        "docker",
                        "network",
                        "ls",
                        "-q",
                        "--filter",
                        f"label=com.docker.compose.project={project}",
                    ]
                )
                out["left_behind"] = {"containers": len(left), "networks": len(nets.split())}
            if web is not None:
                web.stop()
            if dockerd is not None:
                dockerd.terminate()
                dockerd.wait(60)
                out["dockerd_stopped"] = True
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
