-- A dead letter is one message at one position: a topic deleted and created again (an in-memory
-- broker restarted) numbers its messages from 0 again, so a new bad message can stand at a position
-- an old dead letter already holds. Both are kept; a redelivery of the same message still adds nothing.
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_topic_partition_offset_key;
CREATE UNIQUE INDEX dead_letters_position_payload ON dead_letters (topic, partition, "offset", md5(payload));
