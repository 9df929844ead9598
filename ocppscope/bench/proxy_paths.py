"""The paths `ocppscope bench proxy` compares (direct, stock `mitmdump`, `ocppscope proxy` with and
without the store) and how to start the proxy of one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from proxy.processes import (
    HOST,
    Child,
    Children,
    console_script,
    free_port,
    ocppscope_command,
)


@dataclass(frozen=True)
class Route:
    key: str
    label: str


DIRECT = Route("direct", "direct")
MITMDUMP = Route("mitmdump", "mitmdump, no scripts")
OCPPSCOPE = Route("ocppscope", "ocppscope, all addons")
OCPPSCOPE_STORED = Route("ocppscope-store", "ocppscope + store")
"""The same with every frame stored in the embedded PostgreSQL (its server's CPU shows as other)."""
PATHS = (DIRECT, MITMDUMP, OCPPSCOPE, OCPPSCOPE_STORED)


def start_proxy(children: Children, path: Route, csms_port: int) -> tuple[Child, int]:
    port = free_port()
    children.ports.append(port)
    if path is MITMDUMP:
        command = [
            str(console_script("mitmdump")),
            "--mode",
            f"reverse:http://{HOST}:{csms_port}@{HOST}:{port}",
            "-q",
            "--set",
            "connection_strategy=lazy",
            "--set",
            f"confdir={children.workdir / 'mitmdump'}",  # keep ~/.mitmproxy untouched
        ]
        env = None
    else:
        command = [
            *ocppscope_command(),
            "proxy",
            "--listen",
            f"{HOST}:{port}",
            "--upstream",
            f"ws://{HOST}:{csms_port}",
            "--quiet",
            "--admin",
            "off",
            *(() if path is OCPPSCOPE_STORED else ("--no-store",)),
        ]
        env = {**os.environ, "OCPPSCOPE_DATA_DIR": str(children.workdir / "ocppscope")}
    child = children.start(path.key, command, env)
    children.wait_listening(child, port)
    return child, port
