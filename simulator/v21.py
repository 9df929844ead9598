"""OCPP 2.1 for a simulated station: the 2.0.1 requests and handlers with the `ocpp` library's
v21 message classes (and so its 2.1 schemas). What a 2.1 station sends here is also valid 2.1:
the messages the simulator uses kept their 2.0.1 fields (tests/simulator/test_dialects.py)."""

from __future__ import annotations

from types import ModuleType

from ocpp import v21
from ocpp.v21 import call

from simulator.link import Attached, Link
from simulator.v201 import V201


class Link21(Link):
    _call = v21.call
    _call_result = v21.call_result
    _ocpp_version = "2.1"


class V21(V201):
    subprotocol = "ocpp2.1"
    link: type[Attached] = Link21
    messages: ModuleType = call
