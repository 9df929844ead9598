-- Every WebSocket frame the proxy saw, one row each, in daily partitions (UTC days).
-- Names and columns used by the seed guide's SQL (charger_id, action, message_type, status,
-- logged_at) are binding. (proxy_run, seq) identifies a row written by one proxy run; the
-- writer uses it to avoid duplicates when it retries a batch whose commit it could not confirm.

CREATE TABLE ocpp_message_log (
    logged_at      timestamptz      NOT NULL,
    charger_id     text             NOT NULL,
    direction      text             NOT NULL
        CHECK (direction IN ('charger_to_csms', 'csms_to_charger')),
    message_type   text             NOT NULL
        CHECK (message_type IN ('CALL', 'CALLRESULT', 'CALLERROR', 'INVALID')),
    action         text,            -- on responses: the action of the CALL they answer
    message_id     text,
    payload        jsonb,           -- CALL/CALLRESULT payload, CALLERROR {errorCode, ...},
                                    -- INVALID: the JSON if it parsed, else the raw text as a string
    status         text             NOT NULL DEFAULT 'sent'
        CHECK (status IN ('sent', 'dropped', 'delayed', 'injected', 'duplicated', 'corrupted')),
    rtt_ms         double precision,  -- responses: milliseconds since the CALL passed the proxy
    finding_ids    text[],          -- rule ids of the findings this frame raised
    size_bytes     integer          NOT NULL,
    connection_id  text             NOT NULL,
    proxy_instance text             NOT NULL,
    proxy_run      uuid             NOT NULL,
    seq            bigint           NOT NULL
) PARTITION BY RANGE (logged_at);

CREATE INDEX ocpp_message_log_time ON ocpp_message_log USING brin (logged_at);
CREATE INDEX ocpp_message_log_charger_time ON ocpp_message_log (charger_id, logged_at);

COMMENT ON TABLE ocpp_message_log IS
    'One row per WebSocket frame seen by an ocppscope proxy; daily partitions ocpp_message_log_YYYYMMDD.';

-- Create the partition holding `day` (UTC) unless it exists. Safe when several writers race.
CREATE FUNCTION ocppscope_ensure_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('ocpp_message_log_%s', to_char(day, 'YYYYMMDD'));
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ocppscope_partitions'));
    IF to_regclass(name) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF ocpp_message_log FOR VALUES FROM (%L) TO (%L)',
            name,
            (day::timestamp AT TIME ZONE 'UTC'),
            ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    END IF;
    RETURN name;
END $$;

-- Drop the daily partitions that end before today (UTC) minus `keep_days`; returns their names.
CREATE FUNCTION ocppscope_drop_partitions(keep_days integer) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    partition text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ocppscope_partitions'));
    FOR partition IN
        SELECT child.relname
        FROM pg_inherits
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE pg_inherits.inhparent = 'ocpp_message_log'::regclass
          AND child.relname ~ '^ocpp_message_log_[0-9]{8}$'
          AND to_date(right(child.relname, 8), 'YYYYMMDD') + 1
              <= (now() AT TIME ZONE 'UTC')::date - keep_days
        ORDER BY child.relname
    LOOP
        EXECUTE format('DROP TABLE %I', partition);
        RETURN NEXT partition;
    END LOOP;
END $$;
