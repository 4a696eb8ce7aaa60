// Preloaded into `npm run plan` by a test: adds a workload that breaks the pack's rules to the home stack, as a
// careless change to the program would.
import * as k8s from "@pulumi/kubernetes";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stacks = require("../../components/stacks");
const buildStack = stacks.buildStack;
stacks.buildStack = (name: string) => {
  const build = buildStack(name);
  if (name === "home") {
    new k8s.apps.v1.Deployment("careless", {
      metadata: { name: "careless", namespace: "default" },
      spec: { selector: { matchLabels: { app: "careless" } }, template: { metadata: { labels: { app: "careless" } }, spec: { containers: [{ name: "app", image: "nginx:latest" }] } } },
    });
  }
  return build;
};
