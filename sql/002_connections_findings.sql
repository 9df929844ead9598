-- What happened to connections, and what the conformance engine found.

CREATE TABLE proxy_connection_log (
    logged_at       timestamptz NOT NULL,
    charger_id      text        NOT NULL,
    event           text        NOT NULL CHECK (event IN ('open', 'close', 'refused')),
    connection_id   text,       -- NULL for a refused handshake (it never became a connection)
    remote_address  text,       -- the charger's address as the proxy saw it (host:port)
    path            text,
    subprotocol     text,       -- the one the CSMS selected (open)
    tls             boolean,    -- whether the charger connected with wss://
    close_code      integer,    -- close: the WebSocket close code; NULL when the link was lost
    closed_by       text CHECK (closed_by IN ('charger', 'csms')),
    http_status     integer,    -- refused: what the charger got instead of 101
    proxy_instance  text        NOT NULL,
    proxy_run       uuid        NOT NULL,
    seq             bigint      NOT NULL
);

CREATE INDEX proxy_connection_log_charger_time ON proxy_connection_log (charger_id, logged_at);
CREATE INDEX proxy_connection_log_run_seq ON proxy_connection_log (proxy_run, seq);

CREATE TABLE findings (
    logged_at       timestamptz NOT NULL,
    rule_id         text        NOT NULL,
    severity        text        NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
    charger_id      text        NOT NULL,
    message         text        NOT NULL,
    reference       text        NOT NULL,  -- the spec section the rule comes from
    action          text,
    direction       text,
    connection_id   text,       -- with message_id: the frame in ocpp_message_log it concerns
    message_id      text,
    proxy_instance  text        NOT NULL,
    proxy_run       uuid        NOT NULL,
    seq             bigint      NOT NULL
);

CREATE INDEX findings_time ON findings (logged_at);
CREATE INDEX findings_charger_time ON findings (charger_id, logged_at);
CREATE INDEX findings_rule ON findings (rule_id);
CREATE INDEX findings_run_seq ON findings (proxy_run, seq);

-- Frames the proxy forwarded but could not store (PostgreSQL away longer than its buffer lasted).
CREATE TABLE store_discards (
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    records         bigint      NOT NULL,
    proxy_instance  text        NOT NULL,
    proxy_run       uuid        NOT NULL,
    seq             bigint      NOT NULL
);
