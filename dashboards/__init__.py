"""Grafana dashboards as code: the generators, their committed JSON (json/) and the queries in it."""

from pathlib import Path

JSON_DIR = Path(__file__).parent / "json"
"""Where the generated JSON is committed, and what docker-compose mounts into Grafana."""

PROXY_JOB_NAME = "ocppscope-proxy"
CSMS_JOB_NAME = "ocppscope-csms"
"""The scrape jobs of dashboards/prometheus.yml and of `ocppscope dashboards check`'s own
Prometheus: process_* metrics exist in both, so the proxy's panels select its job."""
