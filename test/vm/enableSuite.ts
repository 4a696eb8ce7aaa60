/**
 * Loaded by .mocharc.vm.json: the VM suite boots a VM for minutes, so it runs only where this says so, never under
 * `npm test` or `npm run test:isolation`, which pick up every test file. To run it alone: HOMELAB_VM_SUITE=1 npx mocha ...
 */
process.env.HOMELAB_VM_SUITE = "1";
