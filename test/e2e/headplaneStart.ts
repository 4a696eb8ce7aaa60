/**
 * What Headplane's server does with its config when it starts (app/server/index.ts at v0.6.3), through that release's
 * own files: app/server/config/load.ts `loadConfig`, then app/server/headscale/config-loader.ts `loadHeadscaleConfig`
 * on the Headscale config it names. Run by headplane-tsx (scripts/install-system-tools: the release's tsx and Node, its
 * tree at HOMELAB_HEADPLANE_SOURCE), inside the pod's mount namespace that test/e2e/headplane.test.ts builds.
 *
 * `headplane-tsx headplaneStart.ts CASES RESULTS`: CASES is a JSON array of starts, each with files to write first (by
 * path; null removes one) and the HEADPLANE_* variables it runs with, in place of the last start's. One process for all
 * of them, as loadConfig reads the files and the environment anew on every call. RESULTS gets Headplane's list of
 * keys it reads from a file (pathSupportedKeys) and, per start, the loaded config or the error the server would exit on.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";

/** One start of Headplane. */
export interface HeadplaneStart {
  /** Files written before it (null removes the file). */
  files: Record<string, string | null>;
  /** Its HEADPLANE_* variables. */
  env: Record<string, string>;
}

/** What one start came to. */
export type HeadplaneOutcome =
  | { config: any; headscale: { readable: boolean; writable: boolean; loaded: boolean } }
  | { error: { name: string; code?: string; message: string } };

async function main(): Promise<void> {
  const [casesFile, resultsFile] = process.argv.slice(2);
  const source = process.env.HOMELAB_HEADPLANE_SOURCE;
  if (!source) throw new Error("run by headplane-tsx, which names Headplane's tree in HOMELAB_HEADPLANE_SOURCE");
  // A build defines it (vite.config.ts); the loader reads it only for an OIDC redirect_uri.
  (globalThis as any).__PREFIX__ = "/admin";
  const { loadConfig } = await import(`${source}/app/server/config/load.ts`);
  const { pathSupportedKeys } = await import(`${source}/app/server/config/config-schema.ts`);
  const { loadHeadscaleConfig } = await import(`${source}/app/server/headscale/config-loader.ts`);
  const outcomes: HeadplaneOutcome[] = [];
  for (const start of JSON.parse(readFileSync(casesFile, "utf8")) as HeadplaneStart[]) {
    for (const [path, content] of Object.entries(start.files)) {
      if (content === null) rmSync(path, { force: true });
      else writeFileSync(path, content);
    }
    for (const key of Object.keys(process.env)) if (key.startsWith("HEADPLANE_")) delete process.env[key];
    Object.assign(process.env, start.env);
    try {
      const config = await loadConfig();
      const hs = await loadHeadscaleConfig(config.headscale.config_path, config.headscale.config_strict, config.headscale.dns_records_path);
      outcomes.push({ config, headscale: { readable: hs.readable(), writable: hs.writable(), loaded: hs.c !== undefined } });
    } catch (error) {
      const { name, code, message } = error as Error & { code?: string };
      outcomes.push({ error: { name, code, message } });
    }
  }
  writeFileSync(resultsFile, JSON.stringify({ pathSupportedKeys, outcomes }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
