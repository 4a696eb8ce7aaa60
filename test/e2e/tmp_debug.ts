import { writeFileSync } from "node:fs";
import { planStacks } from "../../tools/offline/planStacks";
import { EdgeTopology } from "./topology";
(async () => {
  const plan = await planStacks(["edge", "home"]);
  const [edge, home] = plan.stacks.map((s) => s.run);
  const t = new EdgeTopology(edge, home).build();
  writeFileSync("/tmp/topo.json", JSON.stringify({ hosts: Object.fromEntries(Object.entries(t.hosts).map(([k, v]) => [k, v.name])), addresses: t.addresses, dir: t.dir }));
  console.log("up");
  setInterval(() => undefined, 100000);
})();
