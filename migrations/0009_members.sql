-- Liveness: every worker and sink process of a pipeline upserts its row every few seconds (role, host,
-- pid, when it started, when it was last seen, the round it works on, its counters). `quorum status`
-- tells live members from dead ones by the age of last_seen; a member that stops cleanly says so.
CREATE TABLE members (
    pipeline   text    NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    role       text    NOT NULL CHECK (role IN ('worker', 'sink')),
    name       text    NOT NULL,
    host       text    NOT NULL,
    pid        integer NOT NULL,
    started_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL DEFAULT now(),
    stopped_at timestamptz,
    round      integer,
    counters   jsonb   NOT NULL DEFAULT '{}',
    PRIMARY KEY (pipeline, role, host, pid)
);
