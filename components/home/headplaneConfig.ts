import { stringify } from "yaml";

/** Where Headplane reads its files and keeps its data. */
export const HEADPLANE_PATHS = {
  config: "/etc/headplane",
  headscaleConfig: "/etc/headscale",
  data: "/var/lib/headplane",
  /** The cookie secret's Secret, mounted as a file. */
  secrets: "/var/run/secrets/headplane",
} as const;
/** Headplane serves every page under this prefix; the route sends the bare host there. */
export const HEADPLANE_PREFIX = "/admin";
/**
 * The file Headplane reads the cookie secret from (server.cookie_secret_path, 0.6.1 on). Not the environment: 0.6.2 on
 * turns an all-digit variable into a number, which the 32-character string check then refuses.
 */
export const COOKIE_SECRET_FILE = `${HEADPLANE_PATHS.secrets}/cookie_secret`;
/** Headplane wants a cookie secret of exactly this many characters. */
export const COOKIE_SECRET_LENGTH = 32;

export interface HeadplaneConfigSpec {
  /** The catalog entry's port, which Traefik's route targets. */
  listenPort: number;
  /** Headscale's in-cluster URL: Headplane calls its API there, never through Traefik. */
  headscaleUrl: string;
  /** Headscale's server_url, which the UI shows in the join commands it offers. */
  headscalePublicUrl: string;
}

/**
 * Headplane's config.yaml (for the pinned 0.6.3), as an object. The cookie secret stays out of it: it names the file a
 * Secret mounts, which Headplane reads into server.cookie_secret before validating (app/server/config/load.ts
 * loadConfigKeyPaths at v0.6.3), and so does every integration: Headscale's config belongs to this program, so the
 * UI shows it read-only and never restarts Headscale. Strict checking is off because the file is checked here against
 * Headscale's own schema; a key Headplane does not know should not lock the UI out.
 */
export function headplaneConfig(spec: HeadplaneConfigSpec): Record<string, unknown> {
  return {
    server: { host: "0.0.0.0", port: spec.listenPort, cookie_secure: true, cookie_secret_path: COOKIE_SECRET_FILE },
    headscale: {
      url: spec.headscaleUrl,
      public_url: spec.headscalePublicUrl,
      config_path: `${HEADPLANE_PATHS.headscaleConfig}/config.yaml`,
      config_strict: false,
    },
  };
}

/** The same, as the YAML file Headplane reads. */
export function renderHeadplaneConfig(spec: HeadplaneConfigSpec): string {
  return stringify(headplaneConfig(spec), { lineWidth: 0 });
}
