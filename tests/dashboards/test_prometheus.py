"""promtool's parser and the throwaway Prometheus of `dashboards check` (Debian's binaries)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from dashboards.prometheus import (
    PrometheusError,
    parse_errors,
    running_prometheus,
    scrape_config,
    wait_scraped,
)
from tests.support import free_port

needs_prometheus = pytest.mark.skipif(
    not Path("/usr/bin/promtool").exists(), reason="Debian's prometheus package is not installed"
)


@pytest.mark.unit
def test_scrape_config_names_each_job_and_its_targets() -> None:
    config = scrape_config(
        {"proxy": ["http://127.0.0.1:9464/metrics", "http://127.0.0.1:9465/metrics"]}, 0.5
    )
    assert config["global"]["scrape_interval"] == "500ms"
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "proxy"
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9464", "127.0.0.1:9465"]}]


@needs_prometheus
def test_promtool_accepts_our_config(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(scrape_config({"x": ["http://127.0.0.1:1/metrics"]}, 1.0)))
    done = subprocess.run(
        ["promtool", "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@needs_prometheus
def test_each_parse_error_belongs_to_its_expression() -> None:
    errors = parse_errors(
        [
            "sum(rate(ocppscope_frames_total[5m]))",
            "sum(rate(ocppscope_frames_total[5m]) by (action)",
            "up",
            "histogram_quantile(0.9, sum by (le) (rate(x_bucket[1m]))",
        ]
    )
    assert errors[0] is None and errors[2] is None
    assert errors[1] is not None and "parse error" in errors[1]
    assert errors[3] is not None and "unclosed left parenthesis" in errors[3]


@needs_prometheus
def test_a_target_that_cannot_be_scraped_is_named() -> None:
    down = f"http://127.0.0.1:{free_port()}/metrics"
    refused = f"could not scrape {down}.*connection refused"
    with (
        running_prometheus({"gone": [down]}, 0.5) as prometheus,
        pytest.raises(PrometheusError, match=refused),
    ):
        wait_scraped(prometheus, 2, 0.5, 12)
