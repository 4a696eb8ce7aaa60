import { Problem } from "./parsing";
import { ServiceConfig } from "./services";

/**
 * Apps whose first visitor creates the admin account: on a fresh volume the setup page is open to anyone who reaches
 * it, so published on the internet the account goes to whoever finds the hostname first. Keyed by the image's name
 * (its last path segment), so every publisher's build of the app is caught.
 */
export const FIRST_RUN_WIZARDS: Record<string, string> = {
  jellyfin: "Jellyfin serves its /Startup wizard anonymously until an admin exists",
  "uptime-kuma": "Uptime Kuma shows /setup (from 2.0, /setup-database before it) to anyone until an admin exists",
  "home-assistant": "Home Assistant's onboarding makes its first visitor the owner",
  // server/auth.go createAdmin: allowed while the user table is empty.
  navidrome: "Navidrome lets its first visitor create the admin account",
  // conf/defaults.ini: admin_user admin, admin_password admin, until someone signs in and changes it.
  grafana: "Grafana's admin account has the password admin until its first sign-in changes it",
};

/** The image's name without registry, path, tag or digest: "docker.io/jellyfin/jellyfin:10.10.7" → "jellyfin". */
export function imageName(image: string): string {
  const repository = image.replace(/@sha256:[0-9a-f]{64}$/, "").replace(/:[^/:]+$/, "");
  return repository.slice(repository.lastIndexOf("/") + 1);
}

/** A known wizard app may be public only once its admin exists (adminClaimed) or forward-auth guards its route. */
export function wizardProblems(services: ServiceConfig[]): Problem[] {
  return services.flatMap((s, i) => {
    const wizard = s.image ? FIRST_RUN_WIZARDS[imageName(s.image)] : undefined;
    if (!wizard || s.exposure !== "public" || s.adminClaimed || s.forwardAuth) return [];
    return [
      {
        key: `services[${i}].exposure`,
        message: `"${s.name}" is public, but ${wizard}. Deploy it as vpn, create the admin account, then set adminClaimed: true on the entry (or put forwardAuth: true in front of it)`,
      },
    ];
  });
}
