"""SEC group: the security profile each upgrade shows (Basic, TLS, client certificate) and the
security events (OCPP 2.0.1 Part 2 A00, A01, Appendix 1)."""

from __future__ import annotations

import base64

import pytest

from proxy.ocppj.findings import Severity
from tests.ocppj.wire import BOOT_REQUEST, Wire, rule_severities, run

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N for notice: info
STATION = "ALF-ACE0012345"
PASSWORD = "k7Qw2ZpR9xLm4TnB8vHc3JdF"
NEW_PASSWORD = "Zt4Pq8Wm2Kx6Rb9Nc3Vy7Hd5"
SERIAL = BOOT_REQUEST["chargingStation"]["serialNumber"]  # type: ignore[index]


def basic(password: str = PASSWORD, user: str = STATION) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def profile_2(wire: Wire, password: str = PASSWORD) -> Wire:
    return wire.open(request_headers=basic(password), tls=True, tls_version="TLSv1.3")


def profile_3(wire: Wire, cn: str | None = SERIAL, headers: dict[str, str] | None = None) -> Wire:
    return wire.open(
        request_headers=headers,
        tls=True,
        tls_version="TLSv1.3",
        client_certificate=True,
        client_certificate_cn=cn,
    )


def reconnect(wire: Wire) -> Wire:
    """The CSMS closes the connection; the station is back 10 s later."""
    return wire.wait(30).close(1000, "csms").wait(10)


def messages(wire: Wire, until: float | None = None) -> str:
    return " ".join(finding.message for finding in run(wire.events, until=until))


# ---- SEC-001: once Basic was seen, every connection carries it -------------------------------


def test_station_dropping_basic_credentials_on_reconnect_is_sec_001():
    wire = profile_2(Wire(STATION)).boot_again()
    reconnect(wire).open(tls=True, tls_version="TLSv1.3").boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-001", E)]


def test_tls_without_basic_when_nobody_asked_for_a_certificate_is_not_judged():
    """Behind a proxy that asks for no client certificate, profile 3 looks like this."""
    wire = profile_2(Wire(STATION)).boot_again()
    reconnect(wire).open(tls=True, tls_version="TLSv1.3", client_certificate=None).boot_again()

    assert run(wire.events) == []


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic QUxGLUFDRTAwMTIzNDU=", "Basic ***not base64***"],
    ids=["no-token", "no-colon", "not-base64"],
)
def test_malformed_basic_header_is_sec_001(header):
    wire = Wire(STATION).open(request_headers={"authorization": header}, tls=True)
    wire.boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-001", E)]


def test_station_without_credentials_on_every_connection_is_fine():
    """No profile can be told from an unauthenticated ws:// station: nothing to judge."""
    wire = Wire(STATION).open(tls=False).boot_again()
    reconnect(wire).open(tls=False).boot_again()

    assert run(wire.events) == []


def test_profile_2_on_every_connection_is_fine():
    wire = profile_2(Wire(STATION)).boot_again().wait(30).heartbeat()
    profile_2(reconnect(wire)).boot_again()

    assert run(wire.events) == []


# ---- SEC-002: the username is the station identity -------------------------------------------


def test_basic_username_other_than_the_identity_is_sec_002():
    wire = Wire(STATION).open(request_headers=basic(user="ACE0012345"), tls=True)
    wire.boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-002", E)]


# ---- SEC-003: BasicAuthPassword of 16-40 allowed characters ---------------------------------


@pytest.mark.parametrize(
    "password",
    ["s3cret-pw", "k7Qw2ZpR9xLm4TnB8vHc3JdFk7Qw2ZpR9xLm4TnB8", "k7Qw2ZpR 9xLm4TnB!8vH"],
    ids=["9-characters", "41-characters", "space-and-bang"],
)
def test_password_breaking_passwordstring_is_sec_003_without_showing_it(password):
    wire = profile_2(Wire(STATION), password).boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-003", E)]
    assert password not in messages(wire)


def set_password(wire: Wire, password: str, status: str = "Accepted") -> Wire:
    variable = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
    wire.call(
        "SetVariables",
        {"setVariableData": [{**variable, "attributeValue": password}]},
        sender="csms",
    )
    return wire.result({"setVariableResult": [{**variable, "attributeStatus": status}]}, "charger")


def test_csms_setting_a_short_password_is_sec_003():
    wire = set_password(profile_2(Wire(STATION)).boot_again().wait(5), "hunter2", "Rejected")

    assert rule_severities(run(wire.events)) == [("SEC-003", E)]
    assert "hunter2" not in messages(wire)


# ---- SEC-004: profile 1 sends the password in clear -------------------------------------------


def test_basic_over_ws_is_sec_004_once_per_station():
    wire = Wire(STATION).open(request_headers=basic(), tls=False).boot_again()
    reconnect(wire).open(request_headers=basic(), tls=False).boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-004", W)]


def test_basic_when_the_capture_does_not_say_whether_tls_is_not_sec_004():
    wire = Wire(STATION).open(request_headers=basic()).boot_again()

    assert run(wire.events) == []


# ---- SEC-005: TLS 1.2 or later ---------------------------------------------------------------


def test_tls_1_1_is_sec_005():
    wire = Wire(STATION).open(request_headers=basic(), tls=True, tls_version="TLSv1.1")
    wire.boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-005", E)]


def test_tls_1_2_is_fine():
    wire = Wire(STATION).open(request_headers=basic(), tls=True, tls_version="TLSv1.2")
    wire.boot_again()

    assert run(wire.events) == []


# ---- SEC-007: profile 3 ----------------------------------------------------------------------


def test_profile_3_with_the_serial_number_as_cn_is_fine():
    wire = profile_3(Wire(STATION)).boot_again().wait(30).heartbeat()
    profile_3(reconnect(wire)).boot_again()

    assert run(wire.events) == []


def test_basic_credentials_with_a_client_certificate_is_sec_007_warning():
    wire = profile_3(Wire(STATION), headers=basic()).boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-007", W)]


def test_client_certificate_without_cn_is_sec_007_error():
    wire = profile_3(Wire(STATION), cn=None).boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-007", E)]


def test_boot_serial_number_not_in_the_certificate_cn_is_sec_007_warning():
    wire = profile_3(Wire(STATION), cn="ACE0099999").boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-007", W)]


# ---- SEC-008: no fall-back to a lower profile ------------------------------------------------


def test_profile_3_then_profile_2_is_sec_008():
    wire = profile_3(Wire(STATION)).boot_again()
    profile_2(reconnect(wire)).boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-008", W)]


def test_profile_2_then_profile_1_is_sec_008_and_sec_004():
    wire = profile_2(Wire(STATION)).boot_again()
    reconnect(wire).open(request_headers=basic(), tls=False).boot_again()

    assert sorted(rule_severities(run(wire.events))) == [("SEC-004", W), ("SEC-008", W)]


def test_profile_2_then_profile_3_is_fine():
    wire = profile_2(Wire(STATION)).boot_again()
    profile_3(reconnect(wire)).boot_again()

    assert run(wire.events) == []


# ---- SEC-009: a new BasicAuthPassword is used on the next connection --------------------------


@pytest.mark.parametrize("status", ["Accepted", "RebootRequired"])
def test_old_password_after_accepting_a_new_one_is_sec_009(status):
    wire = set_password(profile_2(Wire(STATION)).boot_again().wait(5), NEW_PASSWORD, status)
    profile_2(reconnect(wire)).boot_again()

    assert rule_severities(run(wire.events)) == [("SEC-009", E)]
    assert PASSWORD not in messages(wire) and NEW_PASSWORD not in messages(wire)


def test_new_password_on_the_next_connection_is_fine():
    wire = set_password(profile_2(Wire(STATION)).boot_again().wait(5), NEW_PASSWORD)
    profile_2(reconnect(wire), NEW_PASSWORD).boot_again()

    assert run(wire.events) == []


def test_old_password_after_the_station_rejected_the_new_one_is_fine():
    wire = set_password(profile_2(Wire(STATION)).boot_again().wait(5), NEW_PASSWORD, "Rejected")
    profile_2(reconnect(wire)).boot_again()

    assert run(wire.events) == []


# ---- SEC-010: security event names; StartupOfTheDevice after each boot -----------------------


def boot_without_security_event(wire: Wire) -> Wire:
    wire.open().call("BootNotification", BOOT_REQUEST)
    return wire.result({"currentTime": wire.time(0.05), "interval": 300, "status": "Accepted"})


def test_accepted_boot_without_startup_event_is_sec_010():
    wire = boot_without_security_event(Wire(STATION))

    assert rule_severities(run(wire.events, until=wire.now + 61)) == [("SEC-010", W)]


def test_reset_or_reboot_after_boot_is_fine():
    wire = boot_without_security_event(Wire(STATION)).wait(2)
    wire.call("SecurityEventNotification", {"type": "ResetOrReboot", "timestamp": wire.time()})
    wire.result({})

    assert run(wire.events, until=wire.now + 120) == []


@pytest.mark.parametrize("reported", [True, False])
def test_startup_event_queued_over_a_lost_connection_is_awaited_on_the_next(reported):
    wire = boot_without_security_event(Wire(STATION)).wait(10).close(1006).wait(90).open()
    if reported:
        wire.wait(1).call(
            "SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": wire.time()}
        )
        wire.result({})

    findings = rule_severities(run(wire.events, until=wire.now + 61))
    assert findings == ([] if reported else [("SEC-010", W)])


def test_triggered_boot_needs_no_startup_event():
    wire = Wire(STATION).boot().wait(10)
    wire.call("TriggerMessage", {"requestedMessage": "BootNotification"}, sender="csms")
    wire.result({"status": "Rejected"}, sender="charger")
    wire.call("BootNotification", {**BOOT_REQUEST, "reason": "Triggered"})
    wire.result({"currentTime": wire.time(0.05), "interval": 30, "status": "Accepted"})

    assert "SEC-010" not in [f.rule_id for f in run(wire.events, until=wire.now + 120)]


@pytest.mark.parametrize(
    ("kind", "severity"),
    [("StartUpOfTheDevice", W), ("Tamper Detection Activated", W), ("CableLockFailure", N)],
    ids=["misspelt", "spaced", "proprietary"],
)
def test_security_event_type_outside_appendix_1_is_sec_010(kind, severity):
    wire = Wire(STATION).boot().wait(5)
    wire.call("SecurityEventNotification", {"type": kind, "timestamp": wire.time()}).result({})

    assert rule_severities(run(wire.events)) == [("SEC-010", severity)]


# ---- SEC-011: InvalidMessages after refusing invalid OCPP ------------------------------------


def refused_invalid_set_variables(wire: Wire) -> Wire:
    wire.call("SetVariables", {"setVariableData": "TxCtrlr.EVConnectionTimeOut=60"}, "csms")
    wire.error("TypeConstraintViolation", sender="charger")
    return wire.wait(1)


def test_refusing_invalid_ocpp_without_invalid_messages_event_is_sec_011_info():
    wire = refused_invalid_set_variables(Wire(STATION).boot().wait(5))

    findings = run(wire.events, until=wire.now + 61)
    assert ("SEC-011", N) in rule_severities(findings)


def test_refusing_invalid_ocpp_and_reporting_invalid_messages_is_not_sec_011():
    wire = refused_invalid_set_variables(Wire(STATION).boot().wait(5))
    wire.call("SecurityEventNotification", {"type": "InvalidMessages", "timestamp": wire.time()})
    wire.result({})

    findings = run(wire.events, until=wire.now + 61)
    assert "SEC-011" not in [f.rule_id for f in findings]
