-- An event may carry its finished job (status, body, webhook URL and secret) instead of naming a
-- row of `jobs`, so that producers without access to that table, and the embedded default, can
-- use the dispatcher. The outbox keeps the job as producers wrote it (null: read `jobs`).
alter table webhook_outbox add column job jsonb;

-- A delivery of a carried job has no `jobs` row to read its secret from at each claim: it keeps
-- the secret itself (null: unsigned). `carried_job` tells that apart from a job row's secret.
alter table webhook_deliveries add column carried_job boolean not null default false;
alter table webhook_deliveries add column carried_secret text;
