-- Foundation: what every Kafka → PostgreSQL consumer in Quorum relies on.

-- Kafka positions stored in the same transaction as the rows they produced, so a redelivered
-- message is recognised (exactly-once effect). `next_offset` follows Kafka's convention: the
-- offset of the next message to read.
CREATE TABLE consumer_offsets (
    consumer_group text    NOT NULL,
    topic          text    NOT NULL,
    partition      integer NOT NULL CHECK (partition >= 0),
    next_offset    bigint  NOT NULL CHECK (next_offset >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Messages that could not be parsed or applied: kept with their raw bytes and the reason, never dropped.
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint  NOT NULL,
    message_key bytea,
    payload     bytea   NOT NULL,
    reason      text    NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);
CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
