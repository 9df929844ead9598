"""Which rule groups judge which OCPP version: the explicit list a `Session` is built from.

A version's ruleset is a tuple of `RuleGroup` classes; their order is the order in which their
handlers see an event (no rule depends on it, but findings of one event are listed in it).
OCPP 1.6J and 2.1 rulesets are added here as new entries.
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
from proxy.ocppj.routing import RuleGroup

OCPP201: Final = "ocpp2.0.1"

Ruleset = Sequence[type[RuleGroup]]

RULESETS: Final[dict[str, Ruleset]] = {
    OCPP201: (
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
    ),
}


def groups_for(version: str) -> Ruleset:
    """The rule groups of an OCPP version, by its subprotocol name."""
    try:
        return RULESETS[version]
    except KeyError:
        raise ValueError(
            f"no ruleset for {version!r}; known: {', '.join(sorted(RULESETS))}"
        ) from None
