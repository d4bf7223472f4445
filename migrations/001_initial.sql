-- The platform owns `jobs`; it is created here only for standalone use (embedded database, tests).
create table if not exists jobs (
  id uuid primary key,
  status text not null,
  finished_at timestamptz,
  output_markup text,
  error_code text,
  error_message text,
  webhook_url text,
  webhook_secret text
);

create table webhook_deliveries (
  id uuid primary key,
  job_id uuid not null,
  event text not null,
  url text not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts int not null default 0,
  last_attempt_at timestamptz,
  last_error text,
  created_at timestamptz not null,
  webhook_id text not null unique,
  payload bytea not null,
  next_attempt_at timestamptz,
  locked_until timestamptz,
  lease_token uuid,
  trace_id text,
  updated_at timestamptz not null,
  -- One delivery per event of a job; also serves lookups by job_id.
  constraint webhook_deliveries_job_event_key unique (job_id, event)
);

-- The due query reads only pending rows in next_attempt_at order. A claimed row has its
-- next_attempt_at moved to its lease expiry, so neither leased rows nor rows waiting for a
-- later retry are visited: the cost depends on how many rows are due, not on how many wait.
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
  where status = 'pending';

create table webhook_delivery_attempts (
  delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
  attempt_number int not null,
  started_at timestamptz not null,
  duration_ms int not null,
  status_code int,
  error_kind text,
  error_message text,
  response_body text,
  location text,
  outcome text not null check (outcome in ('sent', 'retry', 'failed')),
  primary key (delivery_id, attempt_number)
);

create table webhook_outbox (
  id bigserial primary key,
  job_id uuid not null,
  event text not null,
  trace_id text,
  created_at timestamptz not null default now(),
  processed_at timestamptz
);

create index webhook_outbox_unprocessed_idx on webhook_outbox (id) where processed_at is null;

create table webhook_dead_letters (
  id bigserial primary key,
  source text not null,
  reason text not null,
  job_id text,
  event text,
  trace_id text,
  raw bytea,
  topic text,
  kafka_partition int,
  kafka_offset text,
  message_key bytea,
  created_at timestamptz not null
);
