"""Which rule groups judge which OCPP version: the explicit list a `Session` is built from.

A version's ruleset is a tuple of `RuleGroup` classes; their order is the order in which their
handlers see an event (no rule depends on it, but findings of one event are listed in it).

The shared groups (transport, payload, answers, back-off; the RPC layer is part of every
session) judge every version, each reading what differs (actions, schemas, errorCodes) from the
session's `proxy.ocppj.versions.Version`. OCPP 2.1 keeps 2.0.1's messages and use cases, so its
ruleset is 2.0.1's: a group about a message 2.1 dropped simply never fires. OCPP 1.6 has other
messages altogether, so none of the 2.0.1 groups that read them judges it: its own groups are
the `checks/v16_*` modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from proxy.ocppj.checks.answers import AnswersGroup
from proxy.ocppj.checks.authorization import AuthorizationGroup
from proxy.ocppj.checks.backoff import BackoffGroup
from proxy.ocppj.checks.boot import BootGroup
from proxy.ocppj.checks.charging import ChargingGroup
from proxy.ocppj.checks.connectors import ConnectorReportsGroup
from proxy.ocppj.checks.csms_requests import CsmsRequestsGroup
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.checks.firmware import FirmwareGroup
from proxy.ocppj.checks.heartbeat import HeartbeatGroup
from proxy.ocppj.checks.payload import PayloadGroup
from proxy.ocppj.checks.provisioning import ProvisioningGroup
from proxy.ocppj.checks.queue import QueueGroup
from proxy.ocppj.checks.remote import RemoteGroup
from proxy.ocppj.checks.reports import ReportsGroup
from proxy.ocppj.checks.security import SecurityGroup
from proxy.ocppj.checks.status import StatusGroup
from proxy.ocppj.checks.transaction_flow import TransactionFlowGroup
from proxy.ocppj.checks.transactions import TransactionsGroup
from proxy.ocppj.checks.transport import TransportGroup
from proxy.ocppj.checks.v16_boot import Boot16Group
from proxy.ocppj.checks.v16_heartbeat import Heartbeat16Group
from proxy.ocppj.checks.v16_queue import Queue16Group
from proxy.ocppj.checks.v16_status import Status16Group
from proxy.ocppj.checks.v16_transactions import Transactions16Group
from proxy.ocppj.routing import RuleGroup
from proxy.ocppj.versions import OCPP16, OCPP21, OCPP201

Ruleset = Sequence[type[RuleGroup]]

SHARED: Final[Ruleset] = (
    DeviceModelGroup,  # holds nothing on 1.6 (no device model), but the others may ask it
    TransportGroup,
    PayloadGroup,
    AnswersGroup,
    BackoffGroup,
)
"""The groups that judge every version: OCPP-J framing and transport, not a version's messages."""

OCPP201_GROUPS: Final[Ruleset] = (
    DeviceModelGroup,
    TransportGroup,
    PayloadGroup,
    AnswersGroup,
    BootGroup,
    HeartbeatGroup,
    StatusGroup,
    TransactionsGroup,
    RemoteGroup,
    BackoffGroup,
    TransactionFlowGroup,
    AuthorizationGroup,
    ChargingGroup,
    ConnectorReportsGroup,
    QueueGroup,
    ProvisioningGroup,
    ReportsGroup,
    FirmwareGroup,
    CsmsRequestsGroup,
    SecurityGroup,
)

RULESETS: Final[dict[str, Ruleset]] = {
    OCPP16: (
        *SHARED,
        Boot16Group,
        Heartbeat16Group,
        Status16Group,
        Transactions16Group,
        Queue16Group,
    ),
    OCPP201: OCPP201_GROUPS,
    OCPP21: OCPP201_GROUPS,
}


def groups_for(version: str) -> Ruleset:
    """The rule groups of an OCPP version, by its subprotocol name."""
    try:
        return RULESETS[version]
    except KeyError:
        raise ValueError(
            f"no ruleset for {version!r}; known: {', '.join(sorted(RULESETS))}"
        ) from None
