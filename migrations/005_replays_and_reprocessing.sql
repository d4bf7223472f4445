-- A bulk replay: the deliveries matching a filter re-driven in batches, oldest first. `last_id`
-- is how far it got, moved in the same transaction as each batch, so a replay resumes after a
-- restart and never re-drives a row twice; `upper_id` is the newest row that matched when it
-- was created, so rows created later never join it.
create table webhook_replays (
  id uuid primary key,
  status text not null,
  filter jsonb not null,
  matched int not null,
  upper_id uuid,
  last_id uuid,
  redriven int not null default 0,
  skipped int not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz
);
create index webhook_replays_running_idx on webhook_replays (created_at) where status = 'running';

-- Which replay re-drove a delivery, on its operator action.
alter table webhook_operator_actions add column replay_id uuid;

-- A dead letter that was reprocessed into a delivery: when, and which delivery.
alter table webhook_dead_letters add column reprocessed_at timestamptz;
alter table webhook_dead_letters add column delivery_id uuid;
