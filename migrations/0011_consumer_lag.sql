-- The round manager's samples of its two consumer groups' lag (summed over partitions), taken every
-- 10 s while a round samples, for the dashboard's lag-over-time plot. Samples older than a day are
-- deleted as new ones arrive.
CREATE TABLE consumer_lag (
    pipeline       text   NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    consumer_group text   NOT NULL,
    lag            bigint NOT NULL,
    sampled_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consumer_lag_by_time ON consumer_lag (pipeline, sampled_at);
