import { describe, expect, it } from "vitest";
import { describeDatabaseContract } from "./delivery-store.contract.ts";
import { embeddedSubject, memorySubject, postgresSubject } from "../support/database-subjects.ts";

describeDatabaseContract("memory fake", memorySubject, { concurrentTransactions: false });
describeDatabaseContract("Postgres", postgresSubject, { concurrentTransactions: true });
describeDatabaseContract("embedded PGlite", embeddedSubject, { concurrentTransactions: false });

describe.each([
  ["memory fake", memorySubject],
  ["Postgres", postgresSubject],
  ["embedded PGlite", embeddedSubject],
])("closing the %s database", (_name, makeSubject) => {
  it("close can be called twice, and ping rejects afterwards", async () => {
    const subject = await makeSubject();
    try {
      await subject.db.ping();
      await Promise.all([subject.db.close(), subject.db.close()]);
      await subject.db.close();
      await expect(subject.db.ping()).rejects.toThrow();
    } finally {
      await subject.cleanup();
    }
  });
});
