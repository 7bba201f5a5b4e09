-- Per-problem outcomes of each evaluation (one byte per problem in split order: bit 0 greedy
-- correct, bit 1 majority-of-k correct), so `quorum rounds` can give paired standard errors of
-- M_n − M0; and greedy-only evaluations (k = 0) have no majority accuracy.
ALTER TABLE evaluations ADD COLUMN outcomes bytea;
ALTER TABLE evaluations ALTER COLUMN majority_accuracy DROP NOT NULL;
