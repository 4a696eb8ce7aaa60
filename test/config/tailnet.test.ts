import { strict as assert } from "node:assert";
import { parseHomeConfig } from "../../components/config/schema";
import { BUILTIN_TAILNET_HOSTS, SUBNET_ROUTER_USER } from "../../components/config/tailnet";
import { validHomeRaw } from "../support/fixtures";

const refusal = (tailnet: object) => {
  try {
    parseHomeConfig({ ...validHomeRaw(), tailnet: JSON.stringify(tailnet) });
  } catch (err) {
    return (err as Error).message;
  }
  return "";
};

describe("tailnet config", () => {
  it("puts MagicDNS under ts.<domain> unless told otherwise", () => {
    assert.equal(parseHomeConfig(validHomeRaw()).headscale.baseDomain, "ts.example.com");
  });

  it("keeps the built-in host names and the router's user for the program", () => {
    for (const host of BUILTIN_TAILNET_HOSTS) assert.match(refusal({ users: ["alice"], hosts: { [host]: "10.0.0.1/32" }, acls: [] }), new RegExp(`"${host}"`), host);
    assert.match(refusal({ users: [SUBNET_ROUTER_USER], groups: {}, acls: [] }), new RegExp(`"${SUBNET_ROUTER_USER}" is reserved`));
  });
});
