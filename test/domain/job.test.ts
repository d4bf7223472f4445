import { describe, expect, it } from "vitest";
import { signingSecretsOf } from "../../src/domain/job.ts";
import { makeSecret } from "../../src/domain/secret.ts";

describe("signingSecretsOf", () => {
  it("gives the job's one secret", () => {
    const secret = makeSecret("whsec_c2VjcmV0");
    expect(signingSecretsOf({ webhookSecret: secret })).toEqual([secret]);
  });

  it("gives no secrets for a job without one", () => {
    expect(signingSecretsOf({ webhookSecret: null })).toEqual([]);
  });

  it("gives null when the job no longer exists", () => {
    expect(signingSecretsOf(undefined)).toBeNull();
  });
});
