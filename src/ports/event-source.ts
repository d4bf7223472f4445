/** A parsed-or-not event as it arrived from an input, before it becomes a delivery. */
export interface IncomingEvent {
  /** The raw value: a JSON object already decoded (outbox, API) or the message bytes (Kafka). */
  readonly value: unknown;
  readonly origin: EventOrigin;
  /**
   * Set when the input could not even produce a value (an undecodable Kafka record batch): the
   * event is dead-lettered with this reason.
   */
  readonly unreadable?: string;
}

export type EventOrigin =
  | { readonly source: "outbox"; readonly outboxId: string }
  | { readonly source: "api" }
  | {
      readonly source: "kafka";
      readonly topic: string;
      readonly partition: number;
      readonly offset: string;
      /** The last offset when the event stands for a range of them (an undecodable record batch). */
      readonly lastOffset?: string;
      readonly key: Uint8Array | null;
    };

export interface SourceReadiness {
  readonly ready: boolean;
  /** Why not ready, for `/readyz`. */
  readonly reason?: string;
}

/**
 * An input of events (the outbox poller, Kafka). `run` consumes until `signal` aborts, handing
 * batches to the app's accept-events use case, and resolves once the in-flight batch is safe.
 */
export interface EventSource {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
  readiness(): SourceReadiness;
}
