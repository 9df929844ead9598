-- Each stored frame and finding carries the OCPP version its connection selected in the WebSocket
-- handshake (the subprotocol the CSMS answered, as on the connection's `open` row), so traffic
-- and findings of a mixed 1.6 / 2.0.1 / 2.1 fleet can be told apart without a join. NULL when the
-- connection selected no subprotocol, or one that is none of these three (it is then judged by the
-- 2.0.1 rules, and WS-002 says why); NULL too on every row written before this column existed.

ALTER TABLE ocpp_message_log ADD COLUMN ocpp_version text
    CHECK (ocpp_version IN ('ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'));
ALTER TABLE findings ADD COLUMN ocpp_version text
    CHECK (ocpp_version IN ('ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'));

COMMENT ON COLUMN ocpp_message_log.ocpp_version IS
    'The subprotocol its connection selected (ocpp1.6, ocpp2.0.1, ocpp2.1); NULL: none of these.';
COMMENT ON COLUMN findings.ocpp_version IS
    'The subprotocol the connection concerned selected (ocpp1.6, ocpp2.0.1, ocpp2.1); NULL: none.';
