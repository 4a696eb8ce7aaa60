import * as pulumi from "@pulumi/pulumi";
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

/** Reads and validates the edge stack's config; throws ConfigError before any resource exists. */
export function loadEdgeConfig(): LoadedEdgeConfig {
  const raw = projectConfig();
  const config = parseEdgeConfig(raw);
  return {
    config,
    sshPrivateKey: raw.sshPrivateKey === undefined ? undefined : pulumi.secret(raw.sshPrivateKey),
  };
}

/** Reads and validates the home stack's config. */
export function loadHomeConfig(): HomeConfig {
  return parseHomeConfig(projectConfig());
}
