-- Experiments (`quorum experiment run`): every step of a run is stored as it finishes, so a stopped
-- run resumes without recomputing anything and a new machine can print the table.
--   SELECT * FROM experiment_results WHERE experiment = 'scpo-table';

CREATE TABLE experiments (
    name        text PRIMARY KEY,
    spec        jsonb NOT NULL,            -- the decoded pipelines/experiments/NAME.yaml
    spec_sha256 text  NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Models: M0 of a seed (mode 'seed', round 0) and M_round of each mode, as NeuZip artifacts.
CREATE TABLE experiment_models (
    experiment     text    NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
    seed           integer NOT NULL,
    mode           text    NOT NULL,
    round          integer NOT NULL CHECK (round >= 0),
    artifact       text    NOT NULL REFERENCES artifacts (sha256),
    pairs          integer,                -- training examples used (nil for M0)
    pair_precision double precision,       -- fraction of them whose chosen answer is the gold one
    seconds        double precision NOT NULL,
    record         jsonb   NOT NULL,       -- the training record (SFT or SCPO)
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment, seed, mode, round)
);

-- The k samples a model drew for a round's unlabeled problems (JSONL of problem samples).
CREATE TABLE experiment_samples (
    experiment  text    NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
    seed        integer NOT NULL,
    model       text    NOT NULL,          -- which model sampled: 'seed/0', 'scpo/1', …
    round       integer NOT NULL CHECK (round >= 1),
    problems    integer NOT NULL,
    samples     bytea   NOT NULL,
    tokens      bigint  NOT NULL,
    seconds     double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment, seed, model, round)
);

-- Held-out accuracy of each model; `outcomes` has one byte per test problem in test order:
-- bit 0 greedy correct, bit 1 majority-of-k correct (for paired differences).
CREATE TABLE experiment_evaluations (
    experiment       text    NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
    seed             integer NOT NULL,
    mode             text    NOT NULL,
    round            integer NOT NULL,
    format           text    NOT NULL,
    problems         integer NOT NULL CHECK (problems > 0),
    k                integer NOT NULL,
    greedy_correct   integer NOT NULL,
    majority_correct integer,
    outcomes         bytea   NOT NULL,
    seconds          double precision NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment, seed, mode, round)
);

CREATE VIEW experiment_results AS
SELECT e.experiment, e.seed, e.mode, e.round, e.format, e.problems,
       e.greedy_correct::double precision / e.problems AS greedy_accuracy,
       e.majority_correct::double precision / e.problems AS majority_accuracy,
       m.pairs, m.pair_precision, m.seconds AS train_seconds, e.seconds AS eval_seconds
FROM experiment_evaluations e
LEFT JOIN experiment_models m USING (experiment, seed, mode, round);
