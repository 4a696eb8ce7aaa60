import { strict as assert } from "node:assert";
import { ConfigError, parseEdgeConfig, parseHomeConfig } from "../../components/config/schema";
import { benchCatalog, validEdgeRaw, validHomeRaw } from "../support/fixtures";

/** Parses with some keys changed (undefined removes a key) and returns the ConfigError's message. */
function errorFor(changes: Record<string, unknown>): string {
  const raw: Record<string, unknown> = { ...validEdgeRaw(), ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete raw[k];
  try {
    parseEdgeConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.message;
  }
  assert.fail("expected the config to be refused");
}

const services = (list: object[]) => JSON.stringify(list);
const svc = (name: string, hostname: string, extra: object = {}) => ({ name, hostname, exposure: "public", port: 80, ...extra });

describe("config schema", () => {
  it("parses the valid example into typed values, with defaults filled in", () => {
    const c = parseEdgeConfig(validEdgeRaw());
    assert.equal(c.edgeHostname, "edge.example.com");
    assert.equal(c.network.wireguardPort, 51820);
    assert.equal(c.network.tunnelMtu, 1420);
    assert.equal(c.network.derp, true);
    assert.equal(c.ssh.port, 22022);
    assert.deepEqual(c.ssh.adminCidrs, ["198.51.100.0/24", "2001:db8:5::/48"]);
    assert.equal(c.update.mode, "ssh");
    assert.equal(c.acme.caaIssuer, "letsencrypt.org");
    assert.equal(c.services.length, 6);
    assert.equal((c as unknown as Record<string, unknown>).sshPrivateKey, undefined, "the secret never enters the typed config");
  });

  it("accepts the benchmark's catalog, so npm run bench keeps planning", () => {
    assert.equal(parseHomeConfig({ ...validHomeRaw(), services: benchCatalog(12) }).services.length, 13);
    assert.equal(parseEdgeConfig({ ...validEdgeRaw(), services: benchCatalog(12) }).services.length, 13);
  });

  it("reads the string forms the CLI writes for numbers and booleans", () => {
    const c = parseEdgeConfig({ ...validEdgeRaw(), tunnelMtu: "1380", derp: "false", ipv6: "false" });
    assert.equal(c.network.tunnelMtu, 1380);
    assert.equal(c.network.derp, false);
    assert.equal(c.network.tunnelCidrV6, undefined, "no IPv6 tunnel network while IPv6 is off");
  });

  it("refuses a malformed domain", () => {
    const message = errorFor({ domain: "Example..com" });
    assert.match(message, /homelab:domain: "Example\.\.com" must be a lower-case DNS name such as "example\.com"/);
  });

  it("refuses a hostname outside the domain", () => {
    const message = errorFor({ services: services([svc("web", "web.example.org")]) });
    assert.match(message, /homelab:services\[0\]\.hostname: "web\.example\.org" is outside the domain example\.com/);
  });

  it("refuses duplicate service names", () => {
    const message = errorFor({ services: services([svc("web", "a.example.com"), svc("web", "b.example.com")]) });
    assert.match(message, /homelab:services\[1\]\.name: "web" is used twice \(also services\[0\]\); service names must be unique/);
  });

  it("refuses duplicate hostnames, including the edge's own", () => {
    const twice = errorFor({ services: services([svc("a", "x.example.com"), svc("b", "x.example.com")]) });
    assert.match(twice, /homelab:services\[1\]\.hostname: "x\.example\.com" is used twice \(also services\[0\]\)/);
    const edge = errorFor({ services: services([svc("a", "edge.example.com")]) });
    assert.match(edge, /"edge\.example\.com" is used twice \(also homelab:edgeHostname\)/);
  });

  it("refuses an admin CIDR that is not a CIDR", () => {
    const message = errorFor({ adminCidrs: JSON.stringify(["198.51.100.7"]) });
    assert.match(message, /homelab:adminCidrs\[0\]: "198\.51\.100\.7" must be a CIDR with host bits zero/);
  });

  for (const anywhere of ["0.0.0.0/0", "::/0"]) {
    it(`refuses ${anywhere} as an admin CIDR for SSH`, () => {
      const message = errorFor({ adminCidrs: JSON.stringify(["198.51.100.0/24", anywhere]) });
      assert.ok(message.includes(`homelab:adminCidrs[1]: "${anywhere}" opens SSH to the whole internet`), message);
    });
  }

  it("refuses admin networks wider than a /16 or an IPv6 /32 unless allowWideAdminCidrs says so", () => {
    const message = errorFor({ adminCidrs: JSON.stringify(["10.0.0.0/8", "2a00::/24", "198.51.100.0/24", "2001:db8:5::/48"]) });
    assert.match(message, /homelab:adminCidrs\[0\]: "10\.0\.0\.0\/8" is wider than a \/16 and opens SSH to much of the internet; .*set homelab:allowWideAdminCidrs to true/);
    assert.match(message, /homelab:adminCidrs\[1\]: "2a00::\/24" is wider than a \/32/);
    assert.doesNotMatch(message, /adminCidrs\[[23]\]/);
    assert.doesNotThrow(() => parseEdgeConfig({ ...validEdgeRaw(), adminCidrs: JSON.stringify(["10.0.0.0/8"]), allowWideAdminCidrs: "true" }));
  });

  it("refuses admin networks that together cover the whole internet, override or not", () => {
    for (const split of [["0.0.0.0/1", "128.0.0.0/1"], ["::/1", "8000::/2", "c000::/2"]]) {
      const message = errorFor({ adminCidrs: JSON.stringify(split), allowWideAdminCidrs: "true" });
      assert.match(message, /homelab:adminCidrs: together cover every IPv[46] address/, split.join(" + "));
    }
    assert.doesNotThrow(() => parseEdgeConfig({ ...validEdgeRaw(), adminCidrs: JSON.stringify(["0.0.0.0/1", "128.0.0.0/2"]), allowWideAdminCidrs: "true" }), "a quarter short of everything");
  });

  it("refuses an admin network inside another, or listed twice, naming both", () => {
    const nested = errorFor({ adminCidrs: JSON.stringify(["198.51.100.0/25", "198.51.100.0/24", "2001:db8:5::/48", "2001:db8:5:1::/64"]) });
    assert.match(nested, /homelab:adminCidrs\[0\]: "198\.51\.100\.0\/25" lies inside "198\.51\.100\.0\/24" \(adminCidrs\[1\]\), and nftables refuses .*; drop the narrower one/);
    assert.match(nested, /homelab:adminCidrs\[3\]: "2001:db8:5:1::\/64" lies inside "2001:db8:5::\/48" \(adminCidrs\[2\]\)/);
    assert.doesNotMatch(nested, /adminCidrs\[[12]\]:/, "the wider network is not the mistake");
    const twice = errorFor({ adminCidrs: JSON.stringify(["198.51.100.0/24", "203.0.113.0/24", "198.51.100.0/24"]) });
    assert.match(twice, /homelab:adminCidrs\[2\]: "198\.51\.100\.0\/24" is listed twice \(also adminCidrs\[0\]\); list it once/);
    assert.doesNotMatch(twice, /adminCidrs\[[01]\]:/);
    assert.doesNotThrow(() => parseEdgeConfig({ ...validEdgeRaw(), adminCidrs: JSON.stringify(["198.51.100.0/25", "198.51.100.128/25", "2001:db8:5::/48", "2001:db8:6::/48"]) }), "neighbours do not overlap");
  });

  it("refuses SSH on port 22", () => {
    assert.match(errorFor({ sshPort: "22" }), /homelab:sshPort: 22 is refused: pick a high port \(1024-65535\)/);
  });

  it("refuses an SSH port out of range", () => {
    assert.match(errorFor({ sshPort: "70000" }), /homelab:sshPort: 70000 must be between 1 and 65535/);
    assert.match(errorFor({ sshPort: "http" }), /homelab:sshPort: "http" must be a whole number/);
  });

  it("refuses an SSH port that the edge forwards", () => {
    assert.match(errorFor({ sshPort: "25565" }), /homelab:sshPort: 25565 is forwarded to the home cluster/);
  });

  it("refuses a tunnel CIDR that overlaps the home LAN", () => {
    const message = errorFor({ lanCidr: "10.0.0.0/8" });
    assert.match(message, /homelab:tunnelCidr: "10\.10\.10\.0\/24" overlaps the home LAN 10\.0\.0\.0\/8/);
  });

  for (const mtu of ["1279", "1421"]) {
    it(`refuses tunnel MTU ${mtu}`, () => {
      assert.ok(errorFor({ tunnelMtu: mtu }).includes(`homelab:tunnelMtu: ${mtu} must be between 1280 and 1420`));
    });
  }

  it("refuses an unknown exposure value", () => {
    const message = errorFor({ services: services([svc("web", "web.example.com", { exposure: "intranet" })]) });
    assert.match(message, /homelab:services\[0\]\.exposure: "intranet" must be one of public, vpn, lan/);
  });

  it("refuses a missing required key", () => {
    assert.match(errorFor({ domain: undefined }), /homelab:domain is required but not set/);
    assert.match(errorFor({ cloudflareZoneId: undefined }), /homelab:cloudflareZoneId is required but not set/);
  });

  it("requires the SSH private key in mode ssh only", () => {
    assert.match(errorFor({ sshPrivateKey: undefined }), /homelab:sshPrivateKey: not set, but required while homelab:edgeUpdateMode is ssh/);
    assert.equal(parseEdgeConfig({ ...validEdgeRaw(), sshPrivateKey: undefined, edgeUpdateMode: "replace" }).update.mode, "replace");
  });

  it("refuses raw TCP ports on a service that is not public, and ports claimed twice", () => {
    assert.match(errorFor({ services: services([svc("db", "db.example.com", { exposure: "lan", tcpPorts: [5432] })]) }), /homelab:services\[0\]\.tcpPorts: only public services forward raw TCP ports/);
    assert.match(errorFor({ services: services([svc("web", "web.example.com", { tcpPorts: [443] })]) }), /homelab:services\[0\]\.tcpPorts\[0\]: 443 is already forwarded for the web entrypoints/);
  });

  it("refuses unknown fields in a service, naming the allowed ones", () => {
    const message = errorFor({ services: services([svc("web", "web.example.com", { exposre: "public" })]) });
    assert.match(message, /homelab:services\[0\]: unknown field\(s\) "exposre"; allowed fields are name, hostname, exposure, port, tcpPorts/);
  });

  it("refuses an IPv6 tunnel network that is not a ULA /64", () => {
    assert.match(errorFor({ tunnelCidrV6: "2001:db8::/64" }), /homelab:tunnelCidrV6: "2001:db8::\/64" must be a unique local \(ULA\) network/);
    assert.match(errorFor({ tunnelCidrV6: "fd7a:10::/48" }), /homelab:tunnelCidrV6: "fd7a:10::\/48" must be a \/64/);
  });

  it("lists every problem at once", () => {
    const message = errorFor({ domain: "bad domain", tunnelMtu: "9000", sshPort: "22" });
    assert.match(message, /homelab:domain/);
    assert.match(message, /homelab:tunnelMtu/);
  });

});

describe("home config schema", () => {
  const homeError = (changes: Record<string, string | undefined>) => {
    const raw: Record<string, unknown> = { ...validHomeRaw(), ...changes };
    for (const [k, v] of Object.entries(changes)) if (v === undefined) delete raw[k];
    assert.throws(() => parseHomeConfig(raw), ConfigError);
    try {
      parseHomeConfig(raw);
    } catch (err) {
      return (err as Error).message;
    }
    return "";
  };

  it("parses the example with defaults: the pool's first host for Traefik, pinned charts", () => {
    const c = parseHomeConfig(validHomeRaw());
    assert.equal(c.edgeStack, "edge");
    assert.deepEqual(c.cluster, { kubeconfig: undefined, context: "homelab", serviceHost: "192.168.1.10", servicePort: 6443, podCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" });
    assert.equal(c.loadBalancer.traefikAddress, "192.168.1.241");
    assert.deepEqual(c.loadBalancer.interfaces, ["^eth[0-9]+", "^en.+"]);
    assert.equal(c.gatewayApi.enabled, false);
    assert.match(c.charts.cilium, /^\d+\.\d+\.\d+$/);
  });

  it("requires the edge stack's name and the API server Cilium talks to", () => {
    assert.match(homeError({ edgeStack: undefined }), /homelab:edgeStack is required but not set/);
    assert.match(homeError({ k8sServiceHost: undefined }), /homelab:k8sServiceHost is required but not set/);
    assert.match(homeError({ kubeContext: undefined }), /homelab:kubeContext is required but not set/);
  });

  it("refuses a load-balancer pool outside the LAN", () => {
    assert.match(homeError({ lbPool: "192.168.2.0/28" }), /homelab:lbPool: "192\.168\.2\.0\/28" is outside the home LAN 192\.168\.1\.0\/24/);
  });

  it("refuses a pool that overlaps the DHCP range", () => {
    assert.match(homeError({ lbPool: "192.168.1.192/26" }), /homelab:lbPool: "192\.168\.1\.192\/26" overlaps the DHCP range 192\.168\.1\.100-192\.168\.1\.199/);
    assert.match(homeError({ dhcpRange: "192.168.1.200-192.168.1.100" }), /homelab:dhcpRange: .* the first not above the last/);
  });

  it("refuses a Traefik address outside the pool, and a pod network that overlaps LAN or tunnel", () => {
    assert.match(homeError({ traefikAddress: "192.168.1.20" }), /homelab:traefikAddress: "192\.168\.1\.20" must be an IPv4 address inside homelab:lbPool/);
    assert.match(homeError({ podCidr: "10.10.0.0/16" }), /homelab:podCidr: "10\.10\.0\.0\/16" overlaps homelab:tunnelCidr 10\.10\.10\.0\/24/);
  });

  it("encrypts Cilium's node-to-node traffic unless ciliumEncryption says false, and refuses anything but a boolean", () => {
    assert.equal(parseHomeConfig(validHomeRaw()).ciliumEncryption, true);
    assert.equal(parseHomeConfig({ ...validHomeRaw(), ciliumEncryption: "false" }).ciliumEncryption, false);
    assert.match(homeError({ ciliumEncryption: "yes" }), /homelab:ciliumEncryption: .*must be true or false/);
  });

  it("refuses a chart version that is not exact", () => {
    assert.match(homeError({ ciliumVersion: "latest" }), /homelab:ciliumVersion: "latest" must be an exact chart version/);
    assert.match(homeError({ traefikVersion: "37.x" }), /homelab:traefikVersion: "37\.x" must be an exact chart version/);
    assert.match(homeError({ traefikVersion: "33.2.1" }), /homelab:traefikVersion: "33\.2\.1" is older than chart 34/);
  });

  it("refuses a Traefik chart that ships the Gateway API CRDs while gatewayApi installs them too", () => {
    assert.match(homeError({ gatewayApi: "true", traefikVersion: "37.1.1" }), /homelab:traefikVersion: "37\.1\.1" ships the Gateway API CRDs \(until chart 40\.2\.0\)/);
    assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), gatewayApi: "true", traefikVersion: "40.2.0" }));
    assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), traefikVersion: "37.1.1" }), "without Gateway API the old chart is fine");
  });
});
