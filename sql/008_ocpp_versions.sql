-- The reference CSMS speaks OCPP 1.6J, 2.0.1 and 2.1 on one endpoint, chosen per connection by
-- the negotiated WebSocket subprotocol: each charger's latest one, for the map and the REST API.
ALTER TABLE charger_info ADD COLUMN ocpp_version text
    CHECK (ocpp_version IN ('ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'));

-- OCPP 1.6 §4.8 (Start Transaction): the Central System allocates the transactionId (an integer).
CREATE SEQUENCE ocpp16_transaction_id;

-- A 1.6 StartTransaction sent again (its answer lost, or queued offline and replayed) gets the
-- transactionId it was given the first time: found among the station's Started events.
CREATE INDEX charger_transaction_event_started ON charger_transaction_event (charger_id)
    WHERE seq_no = 0;
