-- A transaction is named by its charger and its transactionId, not by the transactionId alone: a
-- 2.0.1 or 2.1 station chooses its own ids (unique for that station only), and the CSMS numbers
-- 1.6 transactions from ocpp16_transaction_id, so "17" may name a transaction on two chargers.
ALTER TABLE charger_usage_log
    DROP CONSTRAINT charger_usage_log_pkey,
    ADD PRIMARY KEY (charger_id, transaction_id);

ALTER TABLE charger_transaction_event
    DROP CONSTRAINT charger_transaction_event_pkey,
    ADD PRIMARY KEY (charger_id, transaction_id, seq_no);

-- Looked up by transactionId alone (the seed guide's queries, the scenario checks).
CREATE INDEX charger_usage_log_transaction ON charger_usage_log (transaction_id);
CREATE INDEX charger_transaction_event_transaction ON charger_transaction_event (transaction_id);
