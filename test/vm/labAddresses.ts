import { hostAddress, parseCidr } from "../../components/contract/cidr";
import { OfflineRun } from "../../tools/offline/engine";
import { TEST_INTERNET_V4 } from "./vmPlan";

const CLIENT_V6_NET = "2001:db8:ffc1::/64";
const HOME_V6_NET = "2001:db8:ffc2::/64";
const DERP_V6_NET = "2001:db8:ffc3::/64";
/** The hosts with a link of their own to the router. */
export type Linked = "client" | "admin" | "home" | "derp" | "newAdmin";

export interface Addresses {
  vps: { ipv4: string; ipv6: string };
  client: { ipv4: string; ipv6: string };
  admin: { ipv4: string; ipv6: string };
  home: { ipv4: string; ipv6: string };
  derp: { ipv4: string; ipv6: string };
}

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`not a CIDR: ${text}`);
  return parsed;
};

/** A /64 (or the network itself when narrower) of an IPv6 admin network, and host n in it. */
const v6Host = (network: string, n: number) => `${hostAddress(cidr(network), n)}/${Math.max(64, cidr(network).prefix)}`;

/** An admin host's link: host 10 of each admin network (a /64 of an IPv6 one), the router at host 1. */
export function adminLink(adminCidrs: string[]) {
  const v4 = adminCidrs.find((c) => !c.includes(":"))!;
  const v6 = adminCidrs.find((c) => c.includes(":"))!;
  return {
    addresses: { ipv4: hostAddress(cidr(v4), 10), ipv6: hostAddress(cidr(v6), 10) },
    link: { host: [`${hostAddress(cidr(v4), 10)}/${cidr(v4).prefix}`, v6Host(v6, 10)], router: [`${hostAddress(cidr(v4), 1)}/${cidr(v4).prefix}`, v6Host(v6, 1)] },
  };
}

/** A host's link to the router: the host's addresses and the router's, with prefix lengths. */
export interface Link {
  host: string[];
  router: string[];
}

/**
 * Where everything sits on the test internet: the VPS at the plan's public addresses, the client, home and derp hosts
 * beside it, the admin host inside the plan's admin networks, and each host's link to the router.
 */
export function labAddresses(edge: OfflineRun, adminCidrs: string[]): { addresses: Addresses; wanLink: { network: string; router: string }; linkAddresses: Partial<Record<Linked, Link>> } {
  const vps = { ipv4: String(edge.outputs.publicIpv4.value), ipv6: String(edge.outputs.publicIpv6.value) };
  const internet = cidr(TEST_INTERNET_V4);
  if (!vps.ipv4.startsWith(TEST_INTERNET_V4.replace(/0\/24$/, ""))) {
    throw new Error(`the plan's public IPv4 ${vps.ipv4} is not in the test internet ${TEST_INTERNET_V4}`);
  }
  // The VPS's half of the /24 is its link to the router; the other half holds the client's and the home's links.
  const far = Number(vps.ipv4.split(".")[3]) < 128 ? 128 : 0;
  const admin = adminLink(adminCidrs);
  const addresses = {
    vps,
    client: { ipv4: hostAddress(internet, far + 2), ipv6: hostAddress(cidr(CLIENT_V6_NET), 2) },
    home: { ipv4: hostAddress(internet, far + 66), ipv6: hostAddress(cidr(HOME_V6_NET), 2) },
    derp: { ipv4: hostAddress(internet, far + 34), ipv6: hostAddress(cidr(DERP_V6_NET), 2) },
    admin: admin.addresses,
  };
  const wanBase = far === 128 ? 0 : 128;
  const router = hostAddress(internet, wanBase + 1) === vps.ipv4 ? hostAddress(internet, wanBase + 2) : hostAddress(internet, wanBase + 1);
  return {
    addresses,
    wanLink: { network: `${hostAddress(internet, wanBase)}/25`, router },
    linkAddresses: {
      client: { host: [`${addresses.client.ipv4}/27`, `${addresses.client.ipv6}/64`], router: [`${hostAddress(internet, far + 1)}/27`, `${hostAddress(cidr(CLIENT_V6_NET), 1)}/64`] },
      derp: { host: [`${addresses.derp.ipv4}/27`, `${addresses.derp.ipv6}/64`], router: [`${hostAddress(internet, far + 33)}/27`, `${hostAddress(cidr(DERP_V6_NET), 1)}/64`] },
      home: { host: [`${addresses.home.ipv4}/26`, `${addresses.home.ipv6}/64`], router: [`${hostAddress(internet, far + 65)}/26`, `${hostAddress(cidr(HOME_V6_NET), 1)}/64`] },
      admin: admin.link,
    },
  };
}
