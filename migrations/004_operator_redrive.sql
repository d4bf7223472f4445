-- An operator's retry gives a delivery a fresh attempt budget: the attempts made before it do not
-- count against WEBHOOK_MAX_RETRIES. Recorded in the row, not inferred from `attempts`.
alter table webhook_deliveries add column attempt_budget_start int not null default 0;

-- Every operator action on a delivery (retry, resend, cancel): what, when, with what result.
create table webhook_operator_actions (
  id bigserial primary key,
  delivery_id uuid not null,
  action text not null,
  result text not null,
  created_at timestamptz not null
);
create index webhook_operator_actions_delivery_idx on webhook_operator_actions (delivery_id, id);
