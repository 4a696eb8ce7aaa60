import { HomeConfig } from "./schema";

/** A config that deploys, but leaves undone something an operator would expect done, with what to do about it. */
export interface Advice {
  /** The key to change, with the project namespace. */
  key: string;
  message: string;
}

/**
 * What the home config deploys without: today, alerts with no one to receive them. The monitoring entry alone probes
 * every public hostname and fires PublicEndpointDown, which with no receiver only Alertmanager's own page shows.
 */
export function homeAdvice(config: Pick<HomeConfig, "services" | "alerting">): Advice[] {
  const monitoring = config.services.some((s) => s.component === "prometheus");
  if (!monitoring || config.alerting.receivers.length) return [];
  return [
    {
      key: "homelab:alertReceivers",
      message: "no receiver is set, so the alerts the monitoring entry raises (PublicEndpointDown when a public hostname stops answering, among them) reach no one; add one (README: Alerting)",
    },
  ];
}
