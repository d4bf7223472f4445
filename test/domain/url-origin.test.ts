import { describe, expect, it } from "vitest";
import { urlOrigin } from "../../src/domain/url-origin.ts";

describe("url origin", () => {
  it("is the scheme and authority as written, lowercased, without path, query or fragment", () => {
    expect(urlOrigin("https://Hooks.Example.com/a/b?c#d")).toBe("https://hooks.example.com");
    expect(urlOrigin("HTTP://a.example:8080")).toBe("http://a.example:8080");
    expect(urlOrigin("https://a.example?x=1")).toBe("https://a.example");
    expect(urlOrigin("https://a.example:443/")).toBe("https://a.example:443");
  });

  it("is empty for text that is not an absolute URL", () => {
    expect(urlOrigin("not a url")).toBe("");
    expect(urlOrigin("/relative/path")).toBe("");
  });
});
