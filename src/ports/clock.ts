/** The current time. Adapters use the system clock; tests pass a clock they move by hand. */
export interface Clock {
  now(): Date;
}
