-- The proxy closes a connection itself when it cannot pass a message on (over
-- --max-message-size: 1009; a text frame that is not UTF-8: 1007): such a close is neither
-- the charger's nor the CSMS's.

ALTER TABLE proxy_connection_log DROP CONSTRAINT proxy_connection_log_closed_by_check;
ALTER TABLE proxy_connection_log ADD CONSTRAINT proxy_connection_log_closed_by_check
    CHECK (closed_by IN ('charger', 'csms', 'proxy'));
