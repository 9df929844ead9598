-- OCPP-J 2.1 adds two MessageTypeIds: CALLRESULTERROR (5, an error about a CALLRESULT) and
-- SEND (6, a message that is never answered). Frames of those types are stored under their own
-- names; before this, PostgreSQL refused such rows and they were lost.

ALTER TABLE ocpp_message_log DROP CONSTRAINT ocpp_message_log_message_type_check;
ALTER TABLE ocpp_message_log ADD CONSTRAINT ocpp_message_log_message_type_check
    CHECK (message_type IN ('CALL', 'CALLRESULT', 'CALLERROR', 'CALLRESULTERROR', 'SEND', 'INVALID'));
