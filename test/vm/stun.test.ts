import { strict as assert } from "node:assert";
import { addressBytes, bindingRequest, bindingResponse, isTailscaleBindingRequest, mappedAddress } from "./stun";

// RFC 5769 section 2.2 and 2.3: the sample responses' transaction id, and their XOR-MAPPED-ADDRESS attributes.
const TRANSACTION = Buffer.from("b7e7a701bc34d686fa87dfae", "hex");
const SAMPLES = [
  { address: "192.0.2.1", port: 32853, attribute: "002000080001a147e112a643" },
  { address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853, attribute: "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9" },
];

describe("the STUN stand-in for Headscale's DERP STUN server", () => {
  for (const sample of SAMPLES) {
    it(`encodes XOR-MAPPED-ADDRESS for ${sample.address} as RFC 5769's sample response does, and reads it back`, () => {
      const response = bindingResponse(bindingRequest(TRANSACTION), sample.address, sample.port)!;
      assert.equal(response.subarray(20).toString("hex"), sample.attribute);
      assert.equal(response.readUInt16BE(2), sample.attribute.length / 2);
      const seen = mappedAddress(response, TRANSACTION);
      assert.ok(addressBytes(seen.address).equals(addressBytes(sample.address)), seen.address);
      assert.equal(seen.port, sample.port);
    });
  }

  it("sends the Binding request Tailscale's client sends: tailscale.com v1.101.0-pre stun.Request, run here for this transaction, gave these bytes", () => {
    const upstream = "000100142112a442b7e7a701bc34d686fa87dfae802200087461696c6e6f6465802800049e8df0ce";
    assert.equal(bindingRequest(TRANSACTION).toString("hex"), upstream);
  });

  it("ignores what ParseBindingRequest refuses: nmap's plain Binding request, other software, a wrong or misplaced fingerprint", () => {
    const ours = bindingRequest(TRANSACTION);
    assert.ok(isTailscaleBindingRequest(ours));
    // nmap's UDP payload for 3478 (nmap-payloads): a bare RFC 5389 header; upstream says "came from non-Tailscale software".
    const nmap = Buffer.from("000100002112a442000000000000000000000000", "hex");
    const otherSoftware = Buffer.from(ours);
    otherSoftware.write("tailnodf", 24);
    const wrongFingerprint = Buffer.from(ours);
    wrongFingerprint[ours.length - 1] ^= 1;
    const fingerprintFirst = Buffer.concat([ours.subarray(0, 20), ours.subarray(32), ours.subarray(20, 32)]);
    for (const [name, request] of Object.entries({ nmap, otherSoftware, wrongFingerprint, fingerprintFirst })) {
      assert.equal(isTailscaleBindingRequest(request), false, name);
      assert.equal(bindingResponse(request, "192.0.2.1", 1), undefined, name);
    }
  });

  it("answers only Binding requests, and a response is checked against its transaction", () => {
    const notStun = Buffer.alloc(20);
    assert.equal(bindingResponse(notStun, "192.0.2.1", 1), undefined);
    const response = bindingResponse(bindingRequest(TRANSACTION), "192.0.2.1", 1)!;
    assert.throws(() => mappedAddress(response, Buffer.alloc(12)), /another transaction/);
  });
});
