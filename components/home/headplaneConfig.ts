import { stringify } from "yaml";

/** Where Headplane reads its files and keeps its data. */
export const HEADPLANE_PATHS = {
  config: "/etc/headplane",
  headscaleConfig: "/etc/headscale",
  data: "/var/lib/headplane",
} as const;
/** Headplane serves every page under this prefix; the route sends the bare host there. */
export const HEADPLANE_PREFIX = "/admin";
/** The variable that carries the cookie secret, which Headplane merges over the file before validating it. */
export const COOKIE_SECRET_ENV = "HEADPLANE_SERVER__COOKIE_SECRET";
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
 * Headplane's config.yaml (for the pinned 0.6.3), as an object. The cookie secret stays out of it (it comes from a
 * Secret through the environment, merged over the file before validation: app/server/config/load.ts at v0.6.3), and so does every integration: Headscale's config belongs to this program, so the
 * UI shows it read-only and never restarts Headscale. Strict checking is off because the file is checked here against
 * Headscale's own schema; a key Headplane does not know should not lock the UI out.
 */
export function headplaneConfig(spec: HeadplaneConfigSpec): Record<string, unknown> {
  return {
    server: { host: "0.0.0.0", port: spec.listenPort, cookie_secure: true },
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
