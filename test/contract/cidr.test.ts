import { strict as assert } from "node:assert";
import { cidrContains, cidrsOverlap, firstHostOfNetwork, hostAddress, parseCidr } from "../../components/contract/cidr";

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
};

describe("cidr helpers", () => {
  it("parses IPv4 and IPv6 networks and refuses host bits or junk", () => {
    assert.equal(cidr("10.10.10.0/24").prefix, 24);
    assert.equal(cidr("fd7a:10:10::/64").family, 6);
    for (const bad of ["10.10.10.1/24", "10.10.10.0", "10.10.10.0/33", "fd7a::1/64", "::ffff:10.0.0.0/104", "example.com/24"]) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it("detects overlap and containment only within one family", () => {
    assert.ok(cidrsOverlap(cidr("10.0.0.0/8"), cidr("10.10.10.0/24")));
    assert.ok(!cidrsOverlap(cidr("192.168.1.0/24"), cidr("192.168.2.0/24")));
    assert.ok(!cidrsOverlap(cidr("0.0.0.0/0"), cidr("::/0")));
    assert.ok(cidrContains(cidr("fc00::/7"), cidr("fd7a:10:10::/64")));
    assert.ok(!cidrContains(cidr("fc00::/7"), cidr("2001:db8::/64")));
  });

  it("numbers hosts inside a network, in canonical form", () => {
    assert.equal(hostAddress(cidr("10.10.10.0/24"), 2), "10.10.10.2");
    assert.equal(hostAddress(cidr("fd7a:10:10::/64"), 3), "fd7a:10:10::3");
    assert.equal(hostAddress(cidr("2001:db8:0:0:1::/80"), 1), "2001:db8::1:0:0:1");
    assert.throws(() => hostAddress(cidr("10.10.10.0/30"), 4), /has no host number 4/);
  });

  it("turns Hetzner's IPv6 network form into the server's own address", () => {
    assert.equal(firstHostOfNetwork("2001:db8:1234:5678::"), "2001:db8:1234:5678::1");
    assert.equal(firstHostOfNetwork("2001:db8:1234:5678::/64"), "2001:db8:1234:5678::1");
    assert.throws(() => firstHostOfNetwork("203.0.113.7"), /not an IPv6 network/);
  });
});
