-- Artifacts may live in a shared directory instead of artifact_chunks: the row records where, so that
-- checkpoints keep referring to artifacts and `quorum artifacts list|gc` see every one.
ALTER TABLE artifacts ADD COLUMN store text NOT NULL DEFAULT 'postgres' CHECK (store IN ('postgres', 'directory'));
