"""The Docker lab (docker-compose.yml, Dockerfile, dashboards/prometheus.yml and Grafana's
provisioning) checked without a Docker engine: no development machine has one.

Compose's own client resolves the file when one is installed; everything else is read with pyyaml
and held against the real CLI's parser and the other files, so that a flag, a port, a uid or a
path that does not match is a failing test rather than a lab that does not come up."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from dashboards import CSMS_JOB_NAME, PROXY_JOB_NAME
from dashboards.prometheus import binary
from ocppscope.cli.main import app
from proxy.apiguard import HOSTS_ENV, TOKEN_ENV, allowed_hosts
from proxy.settings import parse_listen, parse_upstream

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "dashboards" / "prometheus.yml"
PROVISIONING = ROOT / "dashboards" / "provisioning"
DATASOURCE_UIDS = {
    "ocppscope-prometheus": "prometheus",
    "ocppscope-postgresql": "grafana-postgresql-datasource",
}
"""Fixed: the generated dashboards name their datasources by these uids."""
EXACT_VERSION = re.compile(r"^v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$")
"""16.4-bookworm, v3.5.0, 12.3.1: PostgreSQL numbers its releases with two numbers."""
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):-(?P<default>[^}]*)\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


@pytest.fixture
def services() -> dict[str, dict[str, Any]]:
    """Read again for each test: a module-wide fixture would be set up outside the purity guard
    of the unit tier (tests/conftest.py), and reading the file takes milliseconds."""
    return load(COMPOSE)["services"]


def interpolated(value: str, environ: Mapping[str, str]) -> str:
    """Compose's `${NAME:-default}`, the one form of interpolation the file uses."""
    resolved = INTERPOLATION.sub(lambda m: environ.get(m["name"]) or m["default"], value)
    assert "$" not in resolved, f"{value!r}: only ${{NAME:-default}} is expected here"
    return resolved


def environment(
    service: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A service's environment as Compose gives it, `environ` being the shell's."""
    return {
        name: interpolated(str(value), environ or {})
        for name, value in (service.get("environment") or {}).items()
    }


def port_of(listen: str) -> int:
    return parse_listen(listen).port


def published_targets(service: Mapping[str, Any]) -> set[int]:
    """The container ports a service publishes ("HOST_IP:PUBLISHED:TARGET" or "PUBLISHED:TARGET")."""
    return {int(str(mapping).rsplit(":", 1)[-1]) for mapping in service.get("ports", [])}


def healthcheck_port(service: Mapping[str, Any]) -> int:
    [url] = re.findall(
        r"http://127\.0\.0\.1:\d+/\S*?(?=['\"])", " ".join(service["healthcheck"]["test"])
    )
    port = urlsplit(url).port
    assert port is not None
    return port


def parsed(
    argv: list[str], env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The parameters the real `ocppscope` command line gets from `argv` with `env` set: an
    unknown flag, a bad type or a value out of range raises typer's UsageError/BadParameter.
    No OCPPSCOPE_* of the machine running the tests, or of another service, leaks in."""
    for name in [name for name in os.environ if name.startswith("OCPPSCOPE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    name, *args = argv
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    return command.make_context(name, args).params


@pytest.mark.unit
def test_every_image_is_pinned_to_an_exact_version(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        _repository, separator, tag = image.rpartition(":")
        assert separator and "/" not in tag, f"{name}: {image} has no tag"
        assert EXACT_VERSION.match(tag), f"{name}: {image} is not an exact version"
    [base] = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base


@pytest.mark.unit
def test_the_docs_list_exactly_the_services(services: dict[str, dict[str, Any]]) -> None:
    lab = (ROOT / "docs" / "lab.md").read_text()
    section = lab.split("## Docker lab\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE)
    assert sorted(listed) == sorted(services)


@pytest.mark.unit
def test_every_command_is_accepted_by_the_real_cli(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = [service for service in services.values() if "build" in service]  # our own image
    assert len(ours) == 3
    for service in ours:
        parsed(service["command"], environment(service), monkeypatch)


@pytest.mark.unit
def test_an_unknown_flag_would_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(typer.TyperException, match="No such option: --no-such-flag"):
        parsed(["proxy", "--listen", "0.0.0.0:9000", "--no-such-flag"], {}, monkeypatch)
    with pytest.raises(typer.BadParameter, match="greater than or equal to 1"):
        parsed(["simulate", "--count", "0"], {}, monkeypatch)


@pytest.mark.unit
def test_the_parts_find_each_other(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy's upstream is the CSMS's OCPP port, the simulator's URL the proxy's, the
    healthchecks ask the ports the services listen on, and all of it is published."""
    csms = parsed(services["csms"]["command"], environment(services["csms"]), monkeypatch)
    proxy = parsed(services["proxy"]["command"], environment(services["proxy"]), monkeypatch)
    simulator = services["simulator"]
    simulate = parsed(simulator["command"], environment(simulator), monkeypatch)

    upstream = parse_upstream(proxy["upstream"])
    assert (upstream.host, upstream.port) == ("csms", port_of(csms["ocpp"]))
    station_url = urlsplit(simulate["url"])
    assert (station_url.hostname, station_url.port) == ("proxy", port_of(proxy["listen"]))

    assert healthcheck_port(services["csms"]) == port_of(csms["http"])
    assert healthcheck_port(services["proxy"]) == port_of(proxy["admin"])
    assert published_targets(services["csms"]) == {port_of(csms["ocpp"]), port_of(csms["http"])}
    assert published_targets(services["proxy"]) == {
        port_of(proxy["listen"]),
        port_of(proxy["admin"]),
    }
    assert published_targets(simulator) == {port_of(simulate["control"])}


@pytest.mark.unit
def test_the_proxy_and_the_csms_share_one_token(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose's default token, or the user's own, reaches both APIs (the proxy's option too)."""
    for environ, token in (({}, "change-me"), ({TOKEN_ENV: "s3cret"}, "s3cret")):
        for name in ("proxy", "csms"):
            assert environment(services[name], environ)[TOKEN_ENV] == token, name
        service = services["proxy"]
        params = parsed(service["command"], environment(service, environ), monkeypatch)
        assert params["admin_token"] == token


@pytest.mark.unit
def test_only_the_charger_port_is_published_beyond_loopback(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything but the proxy's listening port is published on 127.0.0.1 only: the REST API,
    the admin API, the CSMS's own OCPP port, the simulator's control, Prometheus and Grafana."""
    proxy = parsed(services["proxy"]["command"], environment(services["proxy"]), monkeypatch)
    charger_port = port_of(proxy["listen"])
    wide = []
    for name, service in services.items():
        for mapping in service.get("ports", []):
            host, _, published = str(mapping).rpartition(":")[0].rpartition(":")
            if host not in ("127.0.0.1", "[::1]") and (name, int(published)) != (
                "proxy",
                charger_port,
            ):
                wide.append(f"{name}: {mapping}")
    assert wide == []
    assert f"{charger_port}:{charger_port}" in services["proxy"]["ports"]


@pytest.mark.unit
def test_the_apis_answer_prometheus_by_its_service_names(
    services: dict[str, dict[str, Any]],
) -> None:
    """The Host check (421) lets through the names Prometheus scrapes the apps by."""
    scraped = {
        urlsplit(f"http://{target}").hostname
        for job in load(PROMETHEUS)["scrape_configs"]
        for config in job.get("static_configs", [])
        for target in config["targets"]
    }
    for name in ("proxy", "csms"):
        hosts = allowed_hosts(environment(services[name]).get(HOSTS_ENV, ""))
        assert name in scraped and name in hosts, (name, scraped, hosts)


@pytest.mark.unit
def test_both_apps_store_in_the_compose_database(services: dict[str, dict[str, Any]]) -> None:
    database = environment(services["postgres"])
    for name in ("csms", "proxy"):
        url = urlsplit(environment(services[name])["OCPPSCOPE_DATABASE_URL"])
        assert (url.hostname, url.port, url.username, url.password, url.path) == (
            "postgres",
            5432,
            database["POSTGRES_USER"],
            database["POSTGRES_PASSWORD"],
            f"/{database['POSTGRES_DB']}",
        ), name


@pytest.mark.unit
def test_services_wait_only_for_what_can_report_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}"
    assert services["simulator"]["depends_on"] == {"proxy": {"condition": "service_healthy"}}
    assert services["proxy"]["depends_on"]["csms"] == {"condition": "service_healthy"}


@pytest.mark.unit
def test_prometheus_scrapes_the_proxy_and_the_csms_where_they_listen(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load(PROMETHEUS)
    assert config["global"]["scrape_interval"] == "5s"
    jobs = {
        job["job_name"]: (job.get("metrics_path", "/metrics"), target)
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    csms = parsed(services["csms"]["command"], environment(services["csms"]), monkeypatch)
    proxy = parsed(services["proxy"]["command"], environment(services["proxy"]), monkeypatch)
    assert jobs == {
        PROXY_JOB_NAME: ("/metrics", f"proxy:{port_of(proxy['admin'])}"),  # the dashboards'
        CSMS_JOB_NAME: ("/metrics", f"csms:{port_of(csms['http'])}"),
    }
    [mount] = [v for v in services["prometheus"]["volumes"] if v.startswith("./dashboards/")]
    source, target, _mode = mount.split(":")
    assert ROOT / source == PROMETHEUS
    assert f"--config.file={target}" in services["prometheus"]["command"]


def test_promtool_accepts_the_prometheus_config() -> None:
    run = subprocess.run(
        [binary("promtool"), "check", "config", str(PROMETHEUS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.unit
def test_datasources_have_the_fixed_uids_and_the_compose_hosts(
    services: dict[str, dict[str, Any]],
) -> None:
    datasources = {
        source["uid"]: source
        for source in load(PROVISIONING / "datasources" / "ocppscope.yml")["datasources"]
    }
    assert {uid: source["type"] for uid, source in datasources.items()} == DATASOURCE_UIDS
    prometheus = datasources["ocppscope-prometheus"]
    assert prometheus["url"] == "http://prometheus:9090"
    assert 9090 in published_targets(services["prometheus"])
    postgresql = datasources["ocppscope-postgresql"]
    database = environment(services["postgres"])
    assert postgresql["url"] == "postgres:5432"
    assert postgresql["user"] == database["POSTGRES_USER"]
    assert postgresql["secureJsonData"]["password"] == database["POSTGRES_PASSWORD"]
    assert postgresql["jsonData"]["database"] == database["POSTGRES_DB"]
    assert postgresql["jsonData"]["sslmode"] == "disable"
    [major] = re.findall(r"^postgres:(\d+)\.", services["postgres"]["image"])
    assert postgresql["jsonData"]["postgresVersion"] == int(major) * 100


@pytest.mark.unit
def test_grafana_reads_the_dashboards_where_compose_mounts_them(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in grafana["volumes"])
    assert mounts["./dashboards/provisioning"] == "/etc/grafana/provisioning"
    [provider] = load(PROVISIONING / "dashboards" / "ocppscope.yml")["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "ocppscope"
    assert provider["options"]["path"] == mounts["./dashboards/json"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{mounts['./dashboards/json']}/ocppscope-traffic.json"
    assert (ROOT / "dashboards" / "json" / "ocppscope-traffic.json").is_file()


def compose_client() -> list[str] | None:
    """`docker compose` when the plugin is there, else Debian's `docker-compose`, else None."""
    docker = shutil.which("docker")
    if docker:
        plugin = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if plugin.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_compose_resolves_the_file(services: dict[str, dict[str, Any]]) -> None:
    client = compose_client()
    if client is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed "
            "(scripts/ensure-system-packages python3 --test-tools installs docker-compose)"
        )
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    run = subprocess.run(
        [*client, "--file", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    resolved = yaml.safe_load(run.stdout)["services"]
    assert sorted(resolved) == sorted(services)
    assert resolved["proxy"]["environment"] == environment(services["proxy"])
    assert resolved["proxy"]["environment"][TOKEN_ENV] == "change-me"
