import { skipSummary } from "./realTools";

/** Mocha root hooks: after the run, one line says which real-tool checks were skipped and what they need. */
export const mochaHooks = {
  afterAll(): void {
    const summary = skipSummary();
    if (summary) console.log(`\n  ${summary}`);
  },
};
