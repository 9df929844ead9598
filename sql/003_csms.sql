-- The reference CSMS's domain tables; names and columns are those of the seed guide's SQL
-- (../shared/spec/seed-queries.sql), which must run unchanged.

CREATE TABLE charger_info (
    charger_id       text PRIMARY KEY,
    site             text,
    latitude         double precision,
    longitude        double precision,
    max_power_kw     numeric(8, 2),
    status           text NOT NULL DEFAULT 'Offline' CHECK (status IN ('Online', 'Offline')),
    connector_status text,           -- the latest StatusNotification (Available, Occupied, Faulted, ...)
    current_power    numeric(10, 3) NOT NULL DEFAULT 0,  -- kW, from Power.Active.Import
    last_heartbeat   timestamptz,
    vendor           text,
    model            text,
    serial_number    text,
    firmware_version text,
    password_sha256  text,           -- hex SHA-256 of the station's Basic-auth password; NULL: none asked
    registered_by    text NOT NULL DEFAULT 'seed' CHECK (registered_by IN ('seed', 'boot', 'admin')),
    registered_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE charger_connection_log (
    id             bigserial PRIMARY KEY,
    charger_id     text NOT NULL,
    status         text NOT NULL CHECK (status IN ('connected', 'disconnected', 'refused')),
    logged_at      timestamptz NOT NULL DEFAULT now(),
    remote_address text,
    close_code     integer,
    reason         text
);
CREATE INDEX charger_connection_log_time ON charger_connection_log (logged_at);

-- One row per transaction, kept up to date as TransactionEvents arrive (end_time NULL while it runs).
CREATE TABLE charger_usage_log (
    transaction_id   text PRIMARY KEY,
    charger_id       text NOT NULL,
    evse_id          integer,
    id_token         text,
    energy_consumed  numeric(12, 4) NOT NULL DEFAULT 0,  -- kWh
    cost             numeric(12, 2) NOT NULL DEFAULT 0,  -- KRW
    duration_seconds integer NOT NULL DEFAULT 0,
    start_time       timestamptz NOT NULL,
    end_time         timestamptz,
    stopped_reason   text,
    remote_start_id  integer,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charger_usage_log_charger_start ON charger_usage_log (charger_id, start_time);

-- Every TransactionEvent as received, so a transaction is judged from all of its events even
-- when they span a restart of the CSMS (a repeated Ended after a restart changes nothing).
CREATE TABLE charger_transaction_event (
    transaction_id text    NOT NULL,
    seq_no         integer NOT NULL,
    charger_id     text    NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    request        jsonb   NOT NULL,  -- the TransactionEventRequest payload
    PRIMARY KEY (transaction_id, seq_no)
);

-- Status and power over time: a row whenever a charger's connector status or power changes.
CREATE TABLE charger_status_log (
    id         bigserial PRIMARY KEY,
    charger_id text NOT NULL,
    logged_at  timestamptz NOT NULL DEFAULT now(),
    status     text NOT NULL,
    power      numeric(10, 3) NOT NULL DEFAULT 0  -- kW
);
CREATE INDEX charger_status_log_time ON charger_status_log (logged_at);

-- The seed guide's fleet: 34 chargers at three Emart sites in Jeju (bays 6 m apart).
INSERT INTO charger_info (charger_id, site, latitude, longitude, max_power_kw) VALUES
    ('emart_jeju_01', 'Emart Jeju', 33.516040, 126.521750, 100),
    ('emart_jeju_02', 'Emart Jeju', 33.516040, 126.521815, 100),
    ('emart_jeju_03', 'Emart Jeju', 33.516040, 126.521879, 100),
    ('emart_jeju_04', 'Emart Jeju', 33.516040, 126.521944, 50),
    ('emart_jeju_05', 'Emart Jeju', 33.516040, 126.522009, 50),
    ('emart_jeju_06', 'Emart Jeju', 33.516040, 126.522073, 50),
    ('emart_jeju_07', 'Emart Jeju', 33.516148, 126.521750, 50),
    ('emart_jeju_08', 'Emart Jeju', 33.516148, 126.521815, 50),
    ('emart_jeju_09', 'Emart Jeju', 33.516148, 126.521879, 7.4),
    ('emart_jeju_10', 'Emart Jeju', 33.516148, 126.521944, 7.4),
    ('emart_jeju_11', 'Emart Jeju', 33.516148, 126.522009, 7.4),
    ('emart_jeju_12', 'Emart Jeju', 33.516148, 126.522073, 7.4),
    ('emart_shinjeju_01', 'Emart Shinjeju', 33.488450, 126.487200, 50),
    ('emart_shinjeju_02', 'Emart Shinjeju', 33.488450, 126.487265, 50),
    ('emart_shinjeju_03', 'Emart Shinjeju', 33.488450, 126.487329, 100),
    ('emart_shinjeju_04', 'Emart Shinjeju', 33.488450, 126.487394, 100),
    ('emart_shinjeju_05', 'Emart Shinjeju', 33.488450, 126.487459, 100),
    ('emart_shinjeju_06', 'Emart Shinjeju', 33.488450, 126.487523, 100),
    ('emart_shinjeju_07', 'Emart Shinjeju', 33.488558, 126.487200, 7.4),
    ('emart_shinjeju_08', 'Emart Shinjeju', 33.488558, 126.487265, 7.4),
    ('emart_shinjeju_09', 'Emart Shinjeju', 33.488558, 126.487329, 7.4),
    ('emart_shinjeju_10', 'Emart Shinjeju', 33.488558, 126.487394, 7.4),
    ('emart_shinjeju_11', 'Emart Shinjeju', 33.488558, 126.487459, 7.4),
    ('emart_shinjeju_12', 'Emart Shinjeju', 33.488558, 126.487523, 7.4),
    ('emart_seogwipo_01', 'Emart Seogwipo', 33.247900, 126.509300, 100),
    ('emart_seogwipo_02', 'Emart Seogwipo', 33.247900, 126.509364, 100),
    ('emart_seogwipo_03', 'Emart Seogwipo', 33.247900, 126.509429, 100),
    ('emart_seogwipo_04', 'Emart Seogwipo', 33.247900, 126.509493, 100),
    ('emart_seogwipo_05', 'Emart Seogwipo', 33.247900, 126.509558, 50),
    ('emart_seogwipo_06', 'Emart Seogwipo', 33.247900, 126.509622, 50),
    ('emart_seogwipo_07', 'Emart Seogwipo', 33.248008, 126.509300, 50),
    ('emart_seogwipo_08', 'Emart Seogwipo', 33.248008, 126.509364, 50),
    ('emart_seogwipo_09', 'Emart Seogwipo', 33.248008, 126.509429, 50),
    ('emart_seogwipo_10', 'Emart Seogwipo', 33.248008, 126.509493, 50);
