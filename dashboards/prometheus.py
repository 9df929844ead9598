"""Prometheus for checking dashboards: its HTTP API (the queries Grafana would send), `promtool`'s
parser, and a throwaway server of our own that scrapes a proxy and a CSMS when the user has none.

Debian's `prometheus` package provides both binaries (scripts/ensure-system-packages installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import yaml

from proxy.processes import Children, free_port

TIMEOUT = 10.0
READY_TIMEOUT = 30.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Never through http_proxy: the Prometheus and the targets checked are on this machine."""


class PrometheusError(Exception):
    """One line: what went wrong asking Prometheus or running its tools."""


def binary(name: str) -> str:
    """The path of `prometheus` or `promtool`, or a PrometheusError saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise PrometheusError(
            f"{name} not found: install Debian's prometheus package "
            "(scripts/ensure-system-packages does) or give --prometheus URL"
        )
    return path


def parse_errors(expressions: Sequence[str], promtool: str | None = None) -> list[str | None]:
    """promtool's verdict on each expression: None if it parses, else promtool's message.

    One `promtool check rules` run for all of them, each expression a recording rule in a group
    of its own, so each error names the expression it belongs to."""
    groups = [
        {"name": f"q{index}", "rules": [{"record": "dashboard_query", "expr": expression}]}
        for index, expression in enumerate(expressions)
    ]
    with tempfile.TemporaryDirectory() as directory:
        rules = Path(directory) / "dashboard-queries.yml"
        rules.write_text(yaml.safe_dump({"groups": groups}))
        result = subprocess.run(
            [promtool or binary("promtool"), "check", "rules", str(rules)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    errors: list[str | None] = [None] * len(expressions)
    for line in (result.stdout + result.stderr).splitlines():
        marker = line.find('group "q')
        if marker < 0:
            continue
        index = int(line[marker + len('group "q') :].split('"', 1)[0])
        errors[index] = line.split(": could not parse expression: ", 1)[-1].strip()
    if result.returncode != 0 and not any(errors):
        raise PrometheusError(f"promtool failed: {(result.stderr or result.stdout).strip()}")
    return errors


class PrometheusApi:
    """The parts of Prometheus's HTTP API that Grafana's Prometheus datasource uses."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def query_range(self, expression: str, start: float, end: float, step: float) -> list[Any]:
        """The series a range query returns (what a time-series panel draws)."""
        data = self._get(
            "/api/v1/query_range",
            {"query": expression, "start": start, "end": end, "step": step},
        )
        return list(data["result"])

    def label_values(self, label: str, match: str | None, start: float, end: float) -> list[str]:
        """`label_values(match, label)` of a Grafana query variable."""
        parameters: dict[str, Any] = {"start": start, "end": end}
        if match:
            parameters["match[]"] = match
        return sorted(self._get(f"/api/v1/label/{label}/values", parameters))

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets", {"state": "active"})["activeTargets"])

    def wait_ready(self, timeout: float) -> None:
        """Until `/-/ready` says 200: Prometheus listens before its TSDB is open and answers
        503 to every API call meanwhile (seconds on a loaded machine)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with _DIRECT.open(f"{self.url}/-/ready", timeout=TIMEOUT):
                    return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise PrometheusError(
                        f"Prometheus at {self.url} is not ready: {error}"
                    ) from None
            time.sleep(0.2)

    def _get(self, path: str, parameters: Mapping[str, Any]) -> Any:
        url = f"{self.url}{path}?{urlencode(parameters)}"
        try:
            with _DIRECT.open(url, timeout=TIMEOUT) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            try:
                answer = json.load(error)
            except ValueError:
                raise PrometheusError(f"{url}: HTTP {error.code}") from None
        except (OSError, ValueError) as error:
            raise PrometheusError(f"Prometheus at {self.url} did not answer: {error}") from None
        if answer.get("status") != "success":
            raise PrometheusError(f"{answer.get('errorType')}: {answer.get('error')}")
        return answer["data"]


def scrape_config(targets: Mapping[str, Sequence[str]], interval: float) -> dict[str, Any]:
    """prometheus.yml scraping each job's /metrics URLs every `interval` seconds."""
    jobs = []
    for job, urls in targets.items():
        parts = [urlsplit(url) for url in urls]
        jobs.append(
            {
                "job_name": job,
                "metrics_path": parts[0].path or "/metrics",
                "scheme": parts[0].scheme or "http",
                "static_configs": [{"targets": [part.netloc for part in parts]}],
            }
        )
    every = f"{int(interval * 1000)}ms"
    return {
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "scrape_configs": jobs,
    }


@contextmanager
def running_prometheus(
    targets: Mapping[str, Sequence[str]], interval: float = 1.0
) -> Iterator[PrometheusApi]:
    """A Prometheus on a free port of 127.0.0.1 and a throwaway TSDB, scraping `targets`
    (job name → /metrics URLs); stopped and deleted on exit."""
    executable = binary("prometheus")
    with tempfile.TemporaryDirectory(prefix="ocppscope-prometheus-") as directory:
        workdir = Path(directory)
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(scrape_config(targets, interval)))
        port = free_port()
        children = Children(workdir)
        try:
            child = children.start(
                "prometheus",
                [
                    executable,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
            )
            children.wait_listening(child, port, READY_TIMEOUT)
            api = PrometheusApi(f"http://127.0.0.1:{port}")
            api.wait_ready(READY_TIMEOUT)
            yield api
        finally:
            children.stop_all()


def wait_scraped(api: PrometheusApi, scrapes: int, interval: float, timeout: float) -> None:
    """Until every target has been scraped successfully for `scrapes` intervals (a rate needs two
    samples); a PrometheusError naming the targets that are down at the deadline."""
    deadline = time.monotonic() + timeout
    first_up: dict[str, float] = {}
    while True:
        targets = api.targets()
        now = time.monotonic()
        for target in targets:
            if target.get("health") == "up":
                first_up.setdefault(target["scrapeUrl"], now)
        if targets and all(
            now - first_up.get(t["scrapeUrl"], now) >= scrapes * interval for t in targets
        ):
            return
        if now > deadline:
            down = [
                f"{t['scrapeUrl']} ({t.get('lastError') or t.get('health')})"
                for t in targets
                if t.get("health") != "up"
            ]
            raise PrometheusError(
                "Prometheus could not scrape " + (", ".join(down) or "its targets in time")
            )
        time.sleep(min(interval, 0.5))
