-- A record batch that cannot be decoded is dead-lettered once for all its offsets: kafka_offset
-- is its first offset and kafka_last_offset its last (null for a single message).
alter table webhook_dead_letters add column kafka_last_offset text;
