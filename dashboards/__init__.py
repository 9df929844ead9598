"""Grafana dashboards as code: the generators, their committed JSON (json/) and the queries in it."""

from pathlib import Path

JSON_DIR = Path(__file__).parent / "json"
"""Where the generated JSON is committed, and what docker-compose mounts into Grafana."""
