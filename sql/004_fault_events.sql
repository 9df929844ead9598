-- What the proxy's fault injection did: every rule added, applied, removed or expired.

CREATE TABLE fault_events (
    logged_at       timestamptz NOT NULL,
    fault_id        integer     NOT NULL,  -- the rule's id in this proxy run
    kind            text        NOT NULL,  -- drop, delay, duplicate, corrupt, reply-error, ...
    event           text        NOT NULL CHECK (event IN ('added', 'applied', 'removed', 'expired')),
    charger_id      text,       -- applied: the station it hit
    connection_id   text,       -- with message_id: the frame in ocpp_message_log it concerns
    direction       text,
    action          text,
    message_id      text,
    detail          text        NOT NULL,  -- what was done (or the rule, when added)
    proxy_instance  text        NOT NULL,
    proxy_run       uuid        NOT NULL,
    seq             bigint      NOT NULL
);

CREATE INDEX fault_events_time ON fault_events (logged_at);
CREATE INDEX fault_events_charger_time ON fault_events (charger_id, logged_at);
CREATE INDEX fault_events_run_seq ON fault_events (proxy_run, seq);
