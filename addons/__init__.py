"""mitmproxy addons, one concern each; each also loads into `mitmdump -s addons/<name>.py`."""

from __future__ import annotations

from typing import Any


def default_addons() -> list[Any]:
    """ocppscope's addons in hook order: a fault decides first whether a frame travels at all, the
    engine judges it, then it is timed, counted, stored and shown (docs/architecture.md)."""
    from addons.conformance import Conformance  # noqa: PLC0415 (mitmdump -s loads one addon alone)
    from addons.console import Console  # noqa: PLC0415
    from addons.faults import Faults  # noqa: PLC0415
    from addons.forwarding import Forwarding  # noqa: PLC0415
    from addons.latency import Latency  # noqa: PLC0415
    from addons.metrics import Metrics  # noqa: PLC0415
    from addons.store import Store  # noqa: PLC0415

    return [Faults(), Forwarding(), Conformance(), Latency(), Metrics(), Store(), Console()]
