-- A frame one side sent after the other side's Close (legal until it answers that Close, RFC
-- 6455 §5.5.1) is recorded, though the proxy could forward it to no one: status 'after_close'.

ALTER TABLE ocpp_message_log DROP CONSTRAINT ocpp_message_log_status_check;
ALTER TABLE ocpp_message_log ADD CONSTRAINT ocpp_message_log_status_check
    CHECK (status IN ('sent', 'dropped', 'delayed', 'injected', 'duplicated', 'corrupted',
                      'after_close'));
