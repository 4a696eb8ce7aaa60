import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import { edgeAdvice, homeAdvice } from "./advice";
import { APP_SECRETS_KEY, AppSecretRead, resolveAppSecrets, ResolvedAppSecrets } from "./appSecrets";
import { refusePlaceholders } from "./placeholders";
import { EdgeConfig, HomeConfig, parseEdgeConfig, parseHomeConfig, projectKeys } from "./schema";

/** Edge config plus the secret values, which stay wrapped as secrets from the moment they are read. */
export interface LoadedEdgeConfig {
  config: EdgeConfig;
  /** The SSH key command.remote uses to push ruleset updates (mode ssh only). */
  sshPrivateKey?: pulumi.Output<string>;
}

function projectConfig(): Record<string, string> {
  return projectKeys(pulumi.runtime.allConfig());
}

/** The offline plan and unit tests run under Pulumi's mock monitor; a real preview or deploy never does. */
const offline = () => getMonitor() instanceof MockMonitor;

/** The example's values are refused by a real engine only; `npm run plan` lists them as warnings instead. */
function refusePlaceholdersForReal(raw: Record<string, string>): void {
  if (!offline()) refusePlaceholders(raw);
}

/** Reads and validates the edge stack's config; throws ConfigError before any resource exists. */
export function loadEdgeConfig(): LoadedEdgeConfig {
  const raw = projectConfig();
  const config = parseEdgeConfig(raw);
  refusePlaceholdersForReal(raw);
  if (!offline()) for (const advice of edgeAdvice(config)) pulumi.log.warn(`${advice.key}: ${advice.message}`);
  return {
    config,
    sshPrivateKey: raw.sshPrivateKey === undefined ? undefined : pulumi.secret(raw.sshPrivateKey),
  };
}

/** Reads and validates the home stack's config; a real preview or deploy also warns of what it leaves undone. */
export function loadHomeConfig(): HomeConfig {
  const raw = projectConfig();
  const config = parseHomeConfig(raw);
  refusePlaceholdersForReal(raw);
  // The offline plan prints the same advice itself, once, rather than from every test's run.
  if (!offline()) for (const advice of homeAdvice(config)) pulumi.log.warn(`${advice.key}: ${advice.message}`);
  return config;
}

/**
 * The Secrets the catalog's apps read, from homelab:appSecrets, checked against what they read before any resource
 * exists. A key not set is refused by a real engine and stood in for offline, where `npm run plan` lists it.
 */
export function loadAppSecrets(reads: AppSecretRead[]): ResolvedAppSecrets {
  return resolveAppSecrets(projectConfig()[APP_SECRETS_KEY], reads, { standIns: offline() });
}
