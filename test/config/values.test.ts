import { strict as assert } from "node:assert";
import { boolean, chartVersion, image, integer, isWithin, json, text } from "../../components/config/values";
import { z } from "zod";

/** The first issue's message for a value, or "ok". */
const verdict = (schema: z.ZodTypeAny, value: unknown) => {
  const result = schema.safeParse(value);
  return result.success ? "ok" : result.error.issues[0].message;
};

describe("config value types, as the CLI hands them over (every value a string)", () => {
  it("reads numbers and booleans from their string forms, and says what is allowed otherwise", () => {
    assert.equal(integer(1, 10).parse("7"), 7);
    assert.equal(verdict(integer(1, 10), "11"), "must be between 1 and 10");
    assert.equal(verdict(integer(1, 10), "7.5"), "must be a whole number");
    assert.equal(boolean().parse("false"), false);
    assert.equal(verdict(boolean(), "yes"), "must be true or false");
  });

  it("parses JSON-valued keys, and leaves text that is no JSON for the schema to refuse", () => {
    assert.deepEqual(json(z.array(text())).parse('["a","b"]'), ["a", "b"]);
    assert.notEqual(verdict(json(z.array(text())), "[a, b"), "ok");
  });

  it("takes only exact chart versions and pinned images", () => {
    for (const version of ["1.18.2", "v1.21.1", "41.3.0-rc.1"]) assert.equal(verdict(chartVersion(), version), "ok", version);
    for (const version of ["37.x", "latest", "1.2"]) assert.match(verdict(chartVersion(), version), /exact chart version/, version);
    assert.equal(verdict(image(), "docker.io/headscale/headscale:v0.29.3"), "ok");
    assert.notEqual(verdict(image(), "docker.io/headscale/headscale"), "ok", "an image without a tag or digest drifts");
  });

  it("knows which hostnames lie within a domain, the apex included", () => {
    assert.ok(isWithin("app.example.com", "example.com"));
    assert.ok(isWithin("example.com", "example.com"));
    assert.ok(!isWithin("badexample.com", "example.com"));
  });
});
