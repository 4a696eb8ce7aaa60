import { strict as assert } from "node:assert";
import { FAKE_PUBLIC_IPV4_ENV, fakeOutputs, fakePublicIpv4Prefix } from "../../tools/offline/fakes";

describe("offline fakes: public addresses", () => {
  const saved = process.env[FAKE_PUBLIC_IPV4_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[FAKE_PUBLIC_IPV4_ENV];
    else process.env[FAKE_PUBLIC_IPV4_ENV] = saved;
  });
  const primaryIpv4 = () => String(fakeOutputs("hcloud:index/primaryIp:PrimaryIp", "edge-ipv4", { type: "ipv4" }).ipAddress);

  it("come from 203.0.113.0/24 unless told otherwise, so committed plans stay byte-identical", () => {
    delete process.env[FAKE_PUBLIC_IPV4_ENV];
    assert.equal(primaryIpv4(), "203.0.113.75");
    assert.equal(fakeOutputs("hcloud:index/server:Server", "edge", {}).ipv4Address, "203.0.113.9");
  });

  it("come from the /24 the environment names, with the same host part", () => {
    process.env[FAKE_PUBLIC_IPV4_ENV] = "192.0.2.0/24";
    assert.equal(primaryIpv4(), "192.0.2.75");
    assert.equal(fakeOutputs("hcloud:index/server:Server", "edge", {}).ipv4Address, "192.0.2.9");
  });

  it("refuse a value that is not an IPv4 /24, naming the variable and the value", () => {
    for (const bad of ["192.0.2.0/25", "192.0.2.1/24", "300.0.2.0/24", "2001:db8::/32"]) {
      assert.throws(() => fakePublicIpv4Prefix(bad), new RegExp(`${FAKE_PUBLIC_IPV4_ENV}: "${bad.replace(/[./]/g, "\\$&")}" is not an IPv4 /24 network`));
    }
  });
});
