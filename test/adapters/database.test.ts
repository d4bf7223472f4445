import { describe, expect, it } from "vitest";
import { describeDatabaseContract } from "./delivery-store.contract.ts";
import { embeddedSubject, memorySubject, postgresSubject } from "../support/database-subjects.ts";

describeDatabaseContract("memory fake", memorySubject, { transactionsOneAtATime: "the memory fake: it runs transactions one at a time" });
describeDatabaseContract("Postgres", postgresSubject, { transactionsOneAtATime: null });
describeDatabaseContract("embedded PGlite", embeddedSubject, { transactionsOneAtATime: "the embedded database: it serves one connection" });

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
