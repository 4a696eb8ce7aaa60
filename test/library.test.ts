import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { runOffline } from "../tools/offline/engine";
import { asStackReference } from "../tools/offline/planStacks";
import { runHome } from "./support/offline";

const ROOT = resolve(__dirname, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

describe("the package as a library, and as a Pulumi program", () => {
  it("Pulumi runs index.ts as the program, while package.json's exports point at the built library", () => {
    assert.equal(parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")).main, "index.ts");
    assert.equal(pkg.main, undefined, "no main to compete with Pulumi.yaml's");
    assert.equal(pkg.exports["."].default, "./dist/components/index.js");
    assert.equal(pkg.scripts.prepare, "npm run build", "npm ci builds it");
  });

  it("runs without dev dependencies: Pulumi and the policy pack find the project's own TypeScript tooling", () => {
    // Without them Pulumi falls back to the TypeScript and ts-node it vendors (pulumi/pulumi sdk/nodejs tsutils.ts),
    // too old for this code, and type-checks against tsconfig.json, which must then need no test-only types.
    for (const name of ["typescript", "ts-node", "@types/node"]) assert.ok(pkg.dependencies[name], `${name} in dependencies`);
    const runtime = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8"));
    assert.deepEqual(runtime.compilerOptions.types, ["node"]);
    assert.ok(!runtime.include.some((glob: string) => glob.startsWith("test/")), "tests compile under tsconfig.test.json");
  });

  it("exports every component with its renderers and contracts", () => {
    // Self-reference resolves "homelab" through package.json's exports, as a consumer's require would.
    const library = require("homelab");
    for (const name of ["Vps", "WireguardTunnel", "CloudflareDns", "EdgeConfigPush", "Cilium", "Traefik", "CertManager", "Reflector", "TunnelGateway", "readEdgeOutputs", "readHomeOutputs", "renderEdgeRuleset", "parseEdgeConfig"]) {
      assert.equal(typeof library[name], "function", name);
    }
  });

  it("builds one piece, only a WireGuard tunnel, from the library without any of this project's config", async () => {
    const { WireguardTunnel, planTunnel } = require("homelab");
    const network = { lanCidr: "192.168.7.0/24", tunnelCidr: "10.77.0.0/24", ipv6: false, wireguardPort: 51999, tunnelMtu: 1400, derp: false };
    const run = await runOffline({
      stack: "library-user",
      config: {},
      program: () => {
        const tunnel = new WireguardTunnel("wg", { network, tunnel: planTunnel(network) });
        return { outputs: { vps: tunnel.vpsConfig }, artifacts: {} };
      },
    });
    assert.ok(run.resources.some((r) => r.type === "homelab:edge:WireguardTunnel"));
    assert.match(String(run.outputs.vps.value), /ListenPort = 51999\nMTU = 1400/);
  });

  it("the example consumer reads the home stack's service URLs through the typed contract", async () => {
    const home = await runHome();
    const run = await runOffline({
      stack: "dev",
      project: "service-urls",
      config: { "service-urls:homeStack": "org/homelab/home" },
      stackReferences: { "org/homelab/home": asStackReference(home) },
      program: () => {
        delete require.cache[require.resolve("../examples/service-urls/index")];
        return { outputs: require("../examples/service-urls/index"), artifacts: {} };
      },
    });
    assert.deepEqual(run.outputs.serviceUrls.value, home.outputs.serviceUrls.value);
    assert.equal(run.outputs.grafanaUrl.value, "https://grafana.example.com");
    assert.equal(run.outputs.lanAddress.value, "192.168.1.241");
  });
});
