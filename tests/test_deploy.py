"""The deployment files: valid against their schemas, and using only commands, settings, ports
and queue names that exist in the code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from newscrawl.app.cli import build_parser
from newscrawl.core import metrics
from newscrawl.core.settings import MetricsSettings, Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
METRIC_PORTS = {
    "scheduler": MetricsSettings().scheduler_port,
    "worker": MetricsSettings().worker_port,
    "indexer": MetricsSettings().indexer_port,
}


def k8s_documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_compose_file_is_valid() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose missing: .ci/run installs it")
        pytest.skip("docker-compose not installed")
    result = subprocess.run(
        [tool, "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # And with the override bench/compose_stack.py runs (it needs the proxy and the outlets).
    proxy = "http://172.29.0.1:8080"
    env = {**os.environ, "NEWSCRAWL_TEST_PROXY": proxy, "NEWSCRAWL_TEST_OUTLETS": "/o.toml"}
    files = ["-f", str(DEPLOY / "compose.yaml"), "-f", str(DEPLOY / "compose.test.yaml")]
    result = subprocess.run([tool, *files, "config"], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["services"]["worker"]["environment"]["NEWSCRAWL_FETCH__PROXY"] == proxy


def test_kubernetes_manifests_are_valid() -> None:
    import kubernetes_validate

    kinds = []
    for doc in k8s_documents():
        kinds.append(doc["kind"])
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: no schema in kubernetes-validate; checked below against our own code
        kubernetes_validate.validate(doc, "1.30", strict=True)
    assert {"Deployment", "ConfigMap", "Secret", "PodDisruptionBudget", "ScaledObject"} <= set(kinds)
    deployments = {d["metadata"]["name"] for d in k8s_documents() if d["kind"] == "Deployment"}
    assert deployments == {f"newscrawl-{c}" for c in ("scheduler", "worker", "indexer", "flower")}
    for doc in k8s_documents():
        if doc["kind"] != "Deployment":
            continue
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["livenessProbe"] and container["readinessProbe"]


def _env_names() -> set[str]:
    names: set[str] = set()
    for doc in k8s_documents():
        if doc["kind"] in ("ConfigMap", "Secret"):
            names |= set(doc.get("data", {})) | set(doc.get("stringData", {}))
    for service in compose()["services"].values():
        names |= set(service.get("environment", {}) or {})
    return {n for n in names if n.startswith("NEWSCRAWL_")}


def _setting_exists(name: str) -> bool:
    parts = name.removeprefix("NEWSCRAWL_").lower().split("__")
    model: type[BaseModel] = Settings
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def test_every_setting_the_deploy_files_set_exists() -> None:
    names = _env_names()
    assert len(names) >= 8
    unknown = sorted(n for n in names if not _setting_exists(n))
    assert not unknown, unknown


def _commands() -> list[tuple[str, list[str]]]:
    out = []
    for doc in k8s_documents():
        if doc["kind"] == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            out.append((doc["metadata"]["name"].removeprefix("newscrawl-"), container["command"]))
    for name, service in compose()["services"].items():
        if isinstance(service.get("command"), list) and service["command"][0] in ("newscrawl", "celery"):
            out.append((name, service["command"]))
    return out


def test_every_command_the_deploy_files_run_exists() -> None:
    newscrawl_commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    seen = set()
    for component, command in _commands():
        if command[0] == "newscrawl":
            assert command[1] in newscrawl_commands, command
            parsed = build_parser().parse_args(command[1:])
            assert parsed.command == command[1]
        else:
            assert command[:3] == ["celery", "-A", "workers"], command
            assert command[3] in ("worker", "flower"), command
        seen.add(component)
    assert {"scheduler", "worker", "indexer", "flower"} <= seen


def test_probes_and_ports_match_the_metrics_settings() -> None:
    for doc in k8s_documents():
        if doc["kind"] != "Deployment":
            continue
        component = doc["metadata"]["name"].removeprefix("newscrawl-")
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        port = container["ports"][0]["containerPort"]
        if component in METRIC_PORTS:
            assert port == METRIC_PORTS[component], component
            assert container["livenessProbe"]["httpGet"]["path"] == "/metrics"
    for component, port in METRIC_PORTS.items():
        test = " ".join(compose()["services"][component]["healthcheck"]["test"])
        assert f"localhost:{port}/metrics" in test, component


def test_autoscaling_watches_the_queue_the_workers_consume() -> None:
    (scaled,) = [d for d in k8s_documents() if d["kind"] == "ScaledObject"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "newscrawl-worker"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == Settings().task_queue
    assert 0 < scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    (pdb,) = [d for d in k8s_documents() if d["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"


def test_redis_keeps_its_data_and_never_evicts() -> None:
    command = " ".join(compose()["services"]["redis"]["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert any(v.endswith(":/data") for v in compose()["services"]["redis"]["volumes"])


def test_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "newscrawl.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    names = _metric_names(exprs)
    assert any(n.startswith("flower_") for n in names)


def _metric_names(exprs: list[str]) -> set[str]:
    """The metric names ``exprs`` use; each must be one of ours (or Flower's)."""
    ours = {m._name for m in vars(metrics).values() if hasattr(m, "_name") and hasattr(m, "_type")}
    names = {n for e in exprs for n in re.findall(r"\b(newscrawl_[a-z_]+|flower_[a-z_]+)", e)}
    known_suffixes = ("_total", "_bucket", "_count", "_sum")
    for name in names:
        if name.startswith("flower_"):
            assert name in FLOWER_METRICS, name
            continue
        base = name
        for suffix in known_suffixes:
            if base.endswith(suffix) and base.removesuffix(suffix) in ours:
                base = base.removesuffix(suffix)
        assert base in ours, name
    return names


ALERTS = DEPLOY / "prometheus" / "alerts.yaml"


def test_alert_rules_use_only_metrics_that_exist() -> None:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "NewscrawlOutletSilent",
        "NewscrawlOutletExtractionFailing",
        "NewscrawlOutletBodiesShrank",
    }
    _metric_names([r["expr"] for r in rules])


def test_alert_rules_fire_on_a_broken_source_and_not_on_a_healthy_one() -> None:
    """promtool (Debian's prometheus package) evaluates the rules on synthetic series:
    deploy/prometheus/alerts.test.yaml says which outlets must alert when."""
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing: .ci/run installs it (Debian's prometheus package)")
        pytest.skip("promtool not installed")
    for argv in (["check", "rules", ALERTS.name], ["test", "rules", "alerts.test.yaml"]):
        result = subprocess.run(
            [tool, *argv], cwd=ALERTS.parent, capture_output=True, text=True, check=False, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr


# What Flower 2 exports at /metrics (documented in docs/runbook.md).
FLOWER_METRICS = {
    "flower_events_total",
    "flower_task_runtime_seconds_bucket",
    "flower_task_runtime_seconds_count",
    "flower_task_runtime_seconds_sum",
    "flower_task_prefetch_time_seconds",
    "flower_worker_prefetched_tasks",
    "flower_worker_online",
    "flower_worker_number_of_currently_executing_tasks",
}


@pytest.mark.timeout(1800)
def test_the_compose_stack_runs_a_crawl_end_to_end() -> None:
    """Opt-in (NEWSCRAWL_DOCKER_TESTS=1; needs root, Debian's docker.io, docker-compose and
    debootstrap; minutes): bench/compose_stack.py builds the images, brings the stack up, crawls
    the replay web, scales the workers, restarts the stack and removes what it made."""
    if os.environ.get("NEWSCRAWL_DOCKER_TESTS") != "1":
        pytest.skip("set NEWSCRAWL_DOCKER_TESTS=1 to build the images and run the Compose stack")
    import sys

    result = subprocess.run(
        [sys.executable, str(DEPLOY.parent / "bench" / "compose_stack.py")],
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout)
    crawl = out["crawl"]
    assert crawl["indexed"] == crawl["replay_articles"] == crawl["articles_indexed_counter"]
    assert len(crawl["workers_tasks"]) == 4 and min(crawl["workers_tasks"].values()) > 0
    assert out["after_down_up"]["new_story_indexed"] and out["after_down_up"]["articles_fetched_again"] == 0
    assert out["left_behind"] == {"containers": 0, "networks": 0}
    if out["dockerd_started_here"]:
        assert out["dockerd_stopped"]
