-- Indexes for finding deliveries (GET /v1/deliveries, replays), chosen and measured with bench
-- scenario S6 over 1,000,000 deliveries. Each full index is one more entry to write on every
-- claim and completion (neither is a HOT update), so there are few:
--  * failed deliveries, newest first: partial, so it costs nothing until a delivery fails;
--  * a receiver's deliveries, newest first: the URL's origin, computed as the list query does;
--  * creation-time windows: BRIN, a few pages, cheap to keep because rows arrive in time order.
create index webhook_deliveries_failed_idx on webhook_deliveries (id) where status = 'failed';
create index webhook_deliveries_origin_idx on webhook_deliveries (lower(substring(url from '^[^:/?#]+://[^/?#]*')), id);
create index webhook_deliveries_created_brin on webhook_deliveries using brin (created_at);
