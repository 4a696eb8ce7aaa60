import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startGatewayHaproxy, startTraefikStandIn } from "../support/tunnelGatewayPod";
import type { EdgeVmLab } from "./edgeLab";
import { STUN_RESPONDER } from "./stun";

/**
 * The gateway pod as the home stack plans it against the lab's edge: wg-quick on wireguard-go with its
 * gateway-wg0.conf, then its haproxy.cfg in front of the Traefik stand-in (PROXY v2 in, echoing the client the header
 * names).
 */
export function gatewayPodUp(lab: EdgeVmLab): void {
  const path = join(lab.dir, `${lab.gatewayInterface}.conf`);
  writeFileSync(path, lab.home.artifacts["gateway-wg0.conf"], { mode: 0o600 });
  const runtime = { dir: lab.dir, start: lab.start.bind(lab), etcFile: lab.etcFile.bind(lab) };
  startTraefikStandIn(runtime, lab.hosts.home, lab.hosts.backend);
  lab.exec("home", "wg-quick", ["up", path]);
  startGatewayHaproxy(runtime, lab.hosts.home, lab.home.artifacts["haproxy.cfg"]);
}

/**
 * The derp peer from the plan's homePeerConfigs, on wireguard-go, with a STUN responder on 3478/udp standing in for
 * Headscale's embedded DERP STUN server (headscale v0.29.2 serves it with tailscale.com/net/stun; stun.test.ts
 * checks the codec against RFC 5389 and the upstream parser). The plan's PostUp sends replies from port 3478 back
 * through the tunnel.
 */
export function derpPeerUp(lab: EdgeVmLab): void {
  const configs = lab.edge.outputs.homePeerConfigs.value as Record<string, string>;
  if (!configs.derp) return;
  const path = join(lab.dir, `${lab.derpInterface}.conf`);
  writeFileSync(path, configs.derp, { mode: 0o600 });
  lab.exec("derp", "wg-quick", ["up", path]);
  lab.start("derp", process.execPath, ["-e", STUN_RESPONDER, join(__dirname, "stun.ts")]);
}
