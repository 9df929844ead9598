"""The three dashboards as the files Grafana provisions, and which committed files are stale."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dashboards import JSON_DIR, charging, conformance, traffic
from dashboards.common import builders, render

BUILDERS: dict[str, Callable[[], builders.Dashboard]] = {
    traffic.UID: traffic.build,
    conformance.UID: conformance.build,
    charging.UID: charging.build,
}
"""Each dashboard's uid, which is also its file's stem, and the function that builds it."""


def generated() -> dict[str, str]:
    """File name → the JSON the code generates now."""
    return {f"{uid}.json": render(build()) for uid, build in BUILDERS.items()}


def write(directory: Path = JSON_DIR) -> list[Path]:
    """Writes every dashboard into `directory` (made if missing); returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_files(directory: Path = JSON_DIR) -> list[str]:
    """Names of the files in `directory` that differ from what the code generates: changed,
    missing, or a `*.json` no dashboard generates any more. Empty when all is up to date."""
    expected = generated()
    present = {path.name for path in directory.glob("*.json")}
    stale = present - expected.keys()
    for name, text in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.add(name)
    return sorted(stale)
