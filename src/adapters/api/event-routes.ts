import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { Problem } from "./problem.ts";
import { addRoute, BEARER, problemResponse, v1Responses } from "./openapi-route.ts";
import { postEvents, type EventsDeps } from "./events-route.ts";

/** The job an event may carry, as `parseCarriedJob` accepts it: used instead of the `jobs` table. */
const CarriedJob = z
  .object({
    status: z.enum(["succeeded", "failed"]),
    finished_at: z.iso.datetime({ offset: true }),
    output_markup: z.string().nullable().optional().openapi({ description: "A succeeded job's markup (required for one, refused for a failed one)" }),
    error: z.object({ code: z.string().min(1), message: z.string() }).nullable().optional().openapi({ description: "A failed job's error (required for one, refused for a succeeded one)" }),
    webhook: z
      .object({
        url: z.string().openapi({ format: "uri" }),
        secret: z.string().nullable().optional().openapi({ description: "Signs the webhook; never shown by the API" }),
      })
      .nullable()
      .optional()
      .openapi({ description: "Without it, the event delivers nothing (like a job without a webhook URL)" }),
  })
  .openapi("CarriedJob");

/** An event as `parseWebhookEvent` accepts it; other fields are ignored. */
const WebhookEvent = z
  .object({
    job_id: z.string().openapi({ format: "uuid", description: "The finished job (either case)" }),
    event: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).openapi({ example: "job.succeeded" }),
    trace_id: z.string().max(256).nullable().optional().openapi({ description: "Opaque; a W3C trace id (32 lowercase hex) also becomes each attempt's `traceparent`" }),
    job: CarriedJob.nullable().optional().openapi({ description: "The finished job, when the producer carries it: used instead of reading the `jobs` table" }),
  })
  .openapi("WebhookEvent");

const Queued = z.object({ outbox_id: z.string(), job_id: z.string(), event: z.string(), trace_id: z.string().nullable() }).openapi("EventQueued");
const Refusal = z.object({ index: z.int().min(0), error: z.literal("invalid_event"), message: z.string() });
const BatchResult = z.union([z.object({ index: z.int().min(0), outbox_id: z.string(), job_id: z.string(), event: z.string() }), Refusal]);
const BatchQueued = z.object({ accepted: z.int().min(1), refused: z.int().min(0), results: z.array(BatchResult) }).openapi("BatchQueued");

const postEventsRoute = createRoute({
  method: "post",
  path: "/events",
  tags: ["events"],
  summary: "Put one event, or a batch of 1 to 1,000, on the outbox",
  description:
    "A JSON object is one event (at most 64 KiB; with its `job`, WEBHOOK_MAX_PAYLOAD plus 64 KiB); a JSON array is a batch (at most 1 MiB, or one event with its job's limit if that is larger). The valid events of a batch are appended in one transaction, and each invalid one is refused on its own (`results` says which); a batch with no valid event is a 400. The body is read as JSON whatever its content type.",
  security: [{ [BEARER]: [] }],
  request: {
    body: { required: true, content: { "application/json": { schema: z.union([WebhookEvent, z.array(WebhookEvent).min(1).max(1_000)]) } } },
  },
  responses: v1Responses({
    202: { description: "Queued: the one event, or per event of the batch its outbox id or why it was refused", content: { "application/json": { schema: z.union([Queued, BatchQueued]) } } },
    400: {
      description: "`invalid_json`, `invalid_event` (for a batch with no valid event, with `results`) or `invalid_batch` (not 1 to 1,000 events)",
      content: { "application/json": { schema: z.object({ ...Problem.shape, results: z.array(Refusal).optional() }).openapi("EventsProblem") } },
    },
    413: problemResponse("`payload_too_large`: one event over its limit, or a batch over 1 MiB"),
  }),
});

/** `POST /v1/events`, declared here; its handler is `postEvents` (`events-route.ts`). */
export function addEventRoutes(v1: OpenAPIHono, deps: EventsDeps): void {
  addRoute(v1, postEventsRoute, (c) => postEvents(c, deps));
}

