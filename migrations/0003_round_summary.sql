-- When each round entered each state (the durations per stage), and views for psql inspection:
--   SELECT * FROM round_summary WHERE pipeline = 'arith-demo';
--   SELECT * FROM round_outcomes WHERE pipeline = 'arith-demo' AND round = 1;
--   SELECT * FROM worker_throughput WHERE pipeline = 'arith-demo';

CREATE TABLE round_transitions (
    pipeline text    NOT NULL,
    round    integer NOT NULL,
    state    text    NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, round, state),   -- the first time the round entered the state
    FOREIGN KEY (pipeline, round) REFERENCES rounds (pipeline, number) ON DELETE CASCADE
);

-- Seconds spent in each stage (wall time, including any time the run was stopped).
CREATE VIEW round_durations AS
SELECT r.pipeline, r.number AS round,
       extract(epoch FROM t_train.at - t_sample.at)::double precision AS sampling_seconds,
       extract(epoch FROM t_eval.at - t_train.at)::double precision   AS training_seconds,
       extract(epoch FROM t_done.at - t_eval.at)::double precision    AS evaluating_seconds,
       extract(epoch FROM t_done.at - t_sample.at)::double precision  AS total_seconds
FROM rounds r
LEFT JOIN round_transitions t_sample ON t_sample.pipeline = r.pipeline AND t_sample.round = r.number AND t_sample.state = 'sampling'
LEFT JOIN round_transitions t_train  ON t_train.pipeline = r.pipeline AND t_train.round = r.number AND t_train.state = 'training'
LEFT JOIN round_transitions t_eval   ON t_eval.pipeline = r.pipeline AND t_eval.round = r.number AND t_eval.state = 'evaluating'
LEFT JOIN round_transitions t_done   ON t_done.pipeline = r.pipeline AND t_done.round = r.number AND t_done.state = 'done';

-- One row per model M_n (n = 0 is the seed; n >= 1 was trained in round n on that round's pairs).
CREATE VIEW round_summary AS
WITH models AS (
    SELECT pipeline, round FROM checkpoints
    UNION SELECT pipeline, number FROM rounds
), latest_evaluation AS (
    SELECT DISTINCT ON (pipeline, round) *
    FROM evaluations ORDER BY pipeline, round, created_at DESC
), pair_stats AS (
    SELECT p.pipeline, p.round,
           avg(CASE WHEN q.gold IS NULL THEN NULL WHEN p.chosen_answer = q.gold THEN 1.0 ELSE 0.0 END)::double precision
               AS chosen_correct
    FROM pairs p JOIN problems q USING (pipeline, round, problem_id)
    GROUP BY p.pipeline, p.round
)
SELECT m.pipeline, m.round, r.state, r.tau,
       g.problems, g.voted, g.pairs, g.mean_weight::double precision AS mean_weight, s.chosen_correct,
       e.problems AS eval_problems, e.greedy_accuracy, e.majority_accuracy, e.k AS majority_k,
       c.uncompressed_bytes, c.compressed_bytes, c.ratio AS neuzip_ratio,
       d.sampling_seconds, d.training_seconds, d.evaluating_seconds, d.total_seconds,
       r.failure
FROM models m
LEFT JOIN rounds r            ON r.pipeline = m.pipeline AND r.number = m.round
LEFT JOIN round_progress g    ON g.pipeline = m.pipeline AND g.round = m.round
LEFT JOIN pair_stats s        ON s.pipeline = m.pipeline AND s.round = m.round
LEFT JOIN latest_evaluation e ON e.pipeline = m.pipeline AND e.round = m.round
LEFT JOIN checkpoints c       ON c.pipeline = m.pipeline AND c.round = m.round
LEFT JOIN round_durations d   ON d.pipeline = m.pipeline AND d.round = m.round;

-- How each round's votes came out (pair, below_threshold, unanimous, …).
CREATE VIEW round_outcomes AS
SELECT pipeline, round, outcome, count(*) AS problems
FROM vote_records GROUP BY pipeline, round, outcome;

-- Per worker and round: problems voted, and the span between its first and last stored record.
CREATE VIEW worker_throughput AS
SELECT pipeline, round, worker, count(*) AS problems,
       min(stored_at) AS first_stored, max(stored_at) AS last_stored,
       count(*) / NULLIF(extract(epoch FROM max(stored_at) - min(stored_at)), 0)::double precision AS problems_per_second
FROM vote_records GROUP BY pipeline, round, worker;

-- The preference pairs in TRL's format (prompt, chosen, rejected) plus the SCPO weight.
CREATE VIEW trl_pairs AS
SELECT pipeline, round, problem_id, prompt, chosen, rejected, weight, chosen_answer, rejected_answer, source
FROM pairs;
