import { strict as assert } from "node:assert";
import { forceNewFor } from "../../tools/offline/forceNew";
import { OfflineRun } from "../../tools/offline/engine";
import { runEdge, runHome } from "../support/offline";

describe("force-new inputs", function () {
  this.timeout(60000);
  let runs: OfflineRun[];
  before(async () => {
    const edge = await runEdge();
    runs = [edge, await runHome({}, edge)];
  });

  it("are recorded, with their source, for every resource type the two stacks plan", () => {
    // Components (and a v4 Chart, whose rendered objects are the real resources), the stack and what is only read
    // are never replaced by a provider.
    const planned = runs.flatMap((run) => run.resources.filter((r) => r.custom && !r.read && r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("kubernetes:helm.sh/")));
    const missing = [...new Set(planned.map((r) => r.type))].filter((type) => !forceNewFor(type)?.source);
    assert.deepEqual(missing, []);
  });
});
