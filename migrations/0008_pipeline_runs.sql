-- Each registration of a pipeline name is one run: a pipeline deleted and registered again gets a new
-- run id. Tasks carry it and vote records repeat it, so votes of an earlier run still in its topic are
-- dead-lettered instead of being stored into the new one.
ALTER TABLE pipelines ADD COLUMN run_id text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text);
