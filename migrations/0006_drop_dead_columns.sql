-- Columns nothing writes or reads: the reference log-probs live with the trainer's round (computed
-- once per round, in memory), and a checkpoint is always the fp32 model (workers quantize on load).
ALTER TABLE pairs DROP COLUMN ref_logp_chosen, DROP COLUMN ref_logp_rejected;
ALTER TABLE checkpoints DROP COLUMN format;
