-- The seed guide's scenarios 1-5 as run by `ocppscope scenario run` / `ocppscope demo`: one row per
-- scenario of one run, with the checks it was judged by, so `ocppscope report` can show (and
-- re-verify from the other tables) the newest run of each scenario.

CREATE TABLE scenario_runs (
    run_id      uuid        NOT NULL,          -- one `ocppscope scenario run` invocation
    scenario    integer     NOT NULL CHECK (scenario BETWEEN 1 AND 5),
    title       text        NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL,
    speed       double precision NOT NULL,
    charger_ids text[]      NOT NULL,
    verdict     text        NOT NULL CHECK (verdict IN ('PASS', 'FAIL')),
    checks      jsonb       NOT NULL,          -- [{"name", "expected", "observed", "passed"}], in order
    PRIMARY KEY (run_id, scenario)
);

CREATE INDEX scenario_runs_scenario_time ON scenario_runs (scenario, started_at);
