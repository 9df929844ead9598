-- Each frame exactly as it crossed the wire, beside the parsed payload: jsonb reorders keys,
-- drops spacing and respells numbers (1.50, 1e2, 12345678901234567890123 and 1e400 come back
-- otherwise or not at all), which is what a conformance finding may be about. The bytes of a
-- text frame are its UTF-8 text (convert_from(raw, 'UTF8') reads it back); a binary frame's
-- are its own. NULL on rows written before this column existed.

ALTER TABLE ocpp_message_log ADD COLUMN raw bytea;

COMMENT ON COLUMN ocpp_message_log.raw IS
    'The frame byte for byte as the proxy received it (a text frame as UTF-8).';
