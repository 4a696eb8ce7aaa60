import { strict as assert } from "node:assert";
import { IMAGE_FILES, IMAGE_PACKAGES, imageKey } from "./image";

describe("the VM image cache key", () => {
  it("is the same for the same package list and files, so a rerun or a CI clone reuses the cached image", () => {
    assert.equal(imageKey([...IMAGE_PACKAGES], { ...IMAGE_FILES }), imageKey());
  });

  it("changes with the package list and with any file the image gets, so a change rebuilds the image", () => {
    assert.notEqual(imageKey([...IMAGE_PACKAGES, "curl"]), imageKey());
    const cloudCfg = "/etc/cloud/cloud.cfg.d/90-hetzner-like.cfg";
    assert.notEqual(imageKey(IMAGE_PACKAGES, { ...IMAGE_FILES, [cloudCfg]: "disable_root: true\n" }), imageKey());
  });

  it("makes the image let root in with the project key, as Hetzner's Debian image does", () => {
    assert.match(IMAGE_FILES["/etc/cloud/cloud.cfg.d/90-hetzner-like.cfg"], /^disable_root: false$/m);
  });
});
