-- The pipeline's state. PostgreSQL is the source of truth: what each round produced and what is done.

CREATE TABLE pipelines (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,            -- the decoded pipelines/NAME.yaml
    spec_sha256 text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A round moves pending → sampling → training → evaluating → done, or to failed (with a reason).
CREATE TABLE rounds (
    pipeline    text    NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    number      integer NOT NULL CHECK (number >= 1),
    state       text    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sampling', 'training', 'evaluating', 'done', 'failed')),
    tau         double precision NOT NULL CHECK (tau > 0 AND tau <= 1),
    failure     text,
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, number),
    CHECK ((state = 'failed') = (failure IS NOT NULL))
);

-- The problems a round samples; published_at is set when the task message was delivered.
CREATE TABLE problems (
    pipeline     text    NOT NULL,
    round        integer NOT NULL,
    problem_id   text    NOT NULL,
    question     text    NOT NULL,
    gold         text,                     -- known answer, if any (used only in scpo-semi / irpo-gold / evaluation)
    labeled      boolean NOT NULL DEFAULT false,
    source       text    NOT NULL CHECK (source IN ('synthetic', 'jsonl', 'self-generated')),
    published_at timestamptz,
    publish_count integer NOT NULL DEFAULT 0,
    PRIMARY KEY (pipeline, round, problem_id),
    FOREIGN KEY (pipeline, round) REFERENCES rounds (pipeline, number) ON DELETE CASCADE
);

-- One vote record per problem per round, however often Kafka redelivers it.
CREATE TABLE vote_records (
    pipeline     text    NOT NULL,
    round        integer NOT NULL,
    problem_id   text    NOT NULL,
    k            integer NOT NULL CHECK (k >= 1),
    answers      jsonb   NOT NULL,         -- [{"answer": "42", "votes": 5}, …]
    unparsable   integer NOT NULL DEFAULT 0,
    outcome      text    NOT NULL,         -- pair | below_threshold | unanimous | tie | no_parsable_answer | …
    worker       text,
    record       jsonb   NOT NULL,         -- the whole message, as received
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, round, problem_id),
    FOREIGN KEY (pipeline, round, problem_id) REFERENCES problems (pipeline, round, problem_id) ON DELETE CASCADE
);

CREATE TABLE pairs (
    pipeline        text    NOT NULL,
    round           integer NOT NULL,
    problem_id      text    NOT NULL,
    prompt          text    NOT NULL,
    chosen          text    NOT NULL,
    rejected        text    NOT NULL,
    chosen_answer   text,
    rejected_answer text,
    weight          double precision NOT NULL CHECK (weight >= 0 AND weight <= 1),
    chosen_votes    integer NOT NULL,
    rejected_votes  integer NOT NULL,
    k               integer NOT NULL,
    source          text    NOT NULL CHECK (source IN ('self-consistency', 'gold')),
    ref_logp_chosen   double precision,    -- log π_ref(y+|x), filled once per round by the trainer
    ref_logp_rejected double precision,
    PRIMARY KEY (pipeline, round, problem_id),
    FOREIGN KEY (pipeline, round, problem_id) REFERENCES vote_records (pipeline, round, problem_id) ON DELETE CASCADE
);

-- Content-addressed blobs (checkpoints), stored in chunks so no shared filesystem is needed.
CREATE TABLE artifacts (
    sha256      text PRIMARY KEY,
    size_bytes  bigint  NOT NULL CHECK (size_bytes >= 0),
    chunk_bytes integer NOT NULL CHECK (chunk_bytes > 0),
    complete    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE artifact_chunks (
    sha256 text    NOT NULL REFERENCES artifacts (sha256) ON DELETE CASCADE,
    index  integer NOT NULL CHECK (index >= 0),
    data   bytea   NOT NULL,
    PRIMARY KEY (sha256, index)
);

CREATE TABLE checkpoints (
    pipeline          text    NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    round             integer NOT NULL CHECK (round >= 0),  -- model M_round
    artifact          text    NOT NULL REFERENCES artifacts (sha256),
    format            text    NOT NULL,
    uncompressed_bytes bigint NOT NULL,
    compressed_bytes  bigint  NOT NULL,
    ratio             double precision GENERATED ALWAYS AS (uncompressed_bytes::double precision / NULLIF(compressed_bytes, 0)) STORED,
    training_record   jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, round)
);

CREATE TABLE evaluations (
    pipeline          text    NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    round             integer NOT NULL,   -- the model evaluated: M_round
    split             text    NOT NULL,
    format            text    NOT NULL,
    problems          integer NOT NULL,
    greedy_accuracy   double precision NOT NULL,
    majority_accuracy double precision NOT NULL,
    k                 integer NOT NULL,
    pair_precision    double precision,   -- fraction of the round's pairs whose chosen answer is correct
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, round, split, format)
);

-- Views for pleasant psql inspection.
CREATE VIEW round_progress AS
SELECT r.pipeline, r.number AS round, r.state, r.tau,
       count(p.problem_id)                      AS problems,
       count(p.published_at)                    AS published,
       count(v.problem_id)                      AS voted,
       count(pr.problem_id)                     AS pairs,
       round(avg(pr.weight)::numeric, 3)        AS mean_weight,
       r.failure
FROM rounds r
LEFT JOIN problems p      ON p.pipeline = r.pipeline AND p.round = r.number
LEFT JOIN vote_records v  ON v.pipeline = p.pipeline AND v.round = p.round AND v.problem_id = p.problem_id
LEFT JOIN pairs pr        ON pr.pipeline = v.pipeline AND pr.round = v.round AND pr.problem_id = v.problem_id
GROUP BY r.pipeline, r.number, r.state, r.tau, r.failure;

CREATE VIEW missing_votes AS
SELECT p.pipeline, p.round, p.problem_id, p.published_at, p.publish_count
FROM problems p
JOIN rounds r ON r.pipeline = p.pipeline AND r.number = p.round AND r.state = 'sampling'
WHERE NOT EXISTS (SELECT 1 FROM vote_records v
                  WHERE v.pipeline = p.pipeline AND v.round = p.round AND v.problem_id = p.problem_id);
