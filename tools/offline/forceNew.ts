/**
 * Which input changes make a provider replace a resource instead of updating it, for every resource type the program
 * plans. Each list is read from the provider's own source at (or next to) the pinned version, named beside it.
 * A path is dotted from the resource's inputs; `[*]` stands for every element of a list.
 */
interface ForceNewSource {
  /** Input paths whose change forces a new resource. */
  paths: string[];
  /** Where the list was read. */
  source: string;
}

const HCLOUD = "terraform-provider-hcloud v1.66.1 (what pulumi-hcloud HEAD c3608de6 wraps; @pulumi/hcloud 1.41.0 pinned)";
const TLS = "terraform-provider-tls v4.2.1-23-gd72d90e1 (@pulumi/tls 5.6.1 pinned), internal/provider";
const K8S = "pulumi-kubernetes provider/pkg/provider/diff.go forceNew table, 94977969d (@pulumi/kubernetes 4.34.2 pinned)";

const tlsSubject = ["organization", "common_name", "organizational_unit", "street_address", "locality", "province", "country", "postal_code", "serial_number", "email_address"];

const PROVIDER_TYPES: Record<string, ForceNewSource> = {
  "hcloud:index/server:Server": { paths: ["image", "location", "datacenter", "userData", "sshKeys"], source: `${HCLOUD} internal/server/resource.go (ForceNew)` },
  "hcloud:index/primaryIp:PrimaryIp": { paths: ["type", "location", "datacenter"], source: `${HCLOUD} internal/primaryip/resource.go (RequiresReplace)` },
  "hcloud:index/sshKey:SshKey": { paths: ["publicKey"], source: `${HCLOUD} internal/sshkey/resource.go (RequiresReplace)` },
  "hcloud:index/firewall:Firewall": { paths: [], source: `${HCLOUD} internal/firewall/resource.go (no ForceNew field)` },
  "hcloud:index/firewallAttachment:FirewallAttachment": { paths: ["firewallId"], source: `${HCLOUD} internal/firewall/attachment_resource.go (ForceNew; serverIds and labelSelectors update in place)` },
  "cloudflare:index/dnsRecord:DnsRecord": { paths: ["zoneId"], source: "terraform-provider-cloudflare v5.22.0 internal/services/dns_record/schema.go (RequiresReplace; @pulumi/cloudflare 6.22.1 pinned)" },
  "cloudflare:index/universalSslSetting:UniversalSslSetting": { paths: ["zoneId"], source: "terraform-provider-cloudflare v5.22.0 internal/services/universal_ssl_setting/schema.go (RequiresReplace)" },
  "cloudflare:index/apiToken:ApiToken": { paths: [], source: "terraform-provider-cloudflare v5.22.0 internal/services/api_token/schema.go (no RequiresReplace)" },
  "random:index/randomBytes:RandomBytes": { paths: ["length", "keepers"], source: "@pulumi/random 4.21.2 randomBytes.d.ts (keepers \"when changed, will trigger recreation\"); length: terraform-provider-random regenerates on any input change (not read line by line here)" },
  "tls:index/privateKey:PrivateKey": { paths: ["algorithm", "rsaBits", "ecdsaCurve"], source: `${TLS}/resource_private_key.go (RequiresReplace)` },
  "tls:index/selfSignedCert:SelfSignedCert": {
    paths: ["privateKeyPem", "validityPeriodHours", "allowedUses", "dnsNames", "ipAddresses", "uris", "isCaCertificate", "maxPathLength", "setSubjectKeyId", "setAuthorityKeyId", ...tlsSubject.map((f) => `subject.${f.replace(/_(.)/g, (_, c) => c.toUpperCase())}`)],
    source: `${TLS}/resource_self_signed_cert.go (RequiresReplace)`,
  },
  "command:remote:Command": { paths: ["triggers"], source: "@pulumi/command 1.2.1 remote/command.d.ts: triggers \"trigger replacements on changes to this input\"" },
  "command:local:Command": { paths: ["triggers"], source: "@pulumi/command 1.2.1 local/command.d.ts: triggers (replaced, as no update command is given)" },
  // Every resource the provider manages is replaced with it (resourceDiff carries it). DiffConfig also replaces when
  // the kubeconfig's active cluster differs, which the offline plan cannot see inside a secret kubeconfig.
  "pulumi:providers:kubernetes": { paths: ["context", "cluster", "clusterIdentifier", "renderYamlToDirectory"], source: `${K8S.replace("diff.go forceNew table", "provider.go DiffConfig")}` },
};

/** pulumi-kubernetes: metadata.name/namespace replace every kind; these kinds add their immutable fields. */
const KUBERNETES_KINDS: Record<string, string[]> = {
  "apps/v1:Deployment": ["spec.selector"],
  "apps/v1:DaemonSet": ["spec.selector"],
  "apps/v1:StatefulSet": ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"],
  "batch/v1:Job": ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
  "core/v1:PersistentVolumeClaim": ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
  "core/v1:Service": ["spec.clusterIP"],
  // Mutable only with the provider's enableSecretMutable / enableConfigMapMutable, which this program leaves off.
  "core/v1:Secret": ["type", "stringData", "data"],
  "core/v1:ConfigMap": ["binaryData", "data"],
  "rbac.authorization.k8s.io/v1:RoleBinding": ["roleRef"],
  "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ["roleRef"],
  "storage.k8s.io/v1:StorageClass": ["parameters", "provisioner"],
};

/** The force-new paths and their source for a type, or undefined for components and types with no table. */
export function forceNewFor(type: string): ForceNewSource | undefined {
  if (PROVIDER_TYPES[type]) return PROVIDER_TYPES[type];
  const k8s = /^kubernetes:(.+)$/.exec(type);
  // A Helm chart (v4) is a component: its rendered objects are planned, not it.
  if (!k8s || type.startsWith("kubernetes:helm.sh/")) return undefined;
  return { paths: ["metadata.name", "metadata.namespace", ...(KUBERNETES_KINDS[k8s[1]] ?? [])], source: K8S };
}

/** Every value at a path, `[*]` fanning out over list elements; a missing step yields undefined. */
export function valuesAt(value: unknown, path: string): unknown[] {
  let values: unknown[] = [value];
  for (const step of path.split(".")) {
    const [key, wildcard] = step.endsWith("[*]") ? [step.slice(0, -3), true] : [step, false];
    values = values.map((v) => (v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined));
    if (wildcard) values = values.flatMap((v) => (Array.isArray(v) ? v : [undefined]));
  }
  return values;
}

/**
 * The force-new paths whose values differ between two input sets. Paths under `ignoreChanges` never count: the
 * engine keeps the old value there, so they cannot replace.
 */
export function forcingChanges(type: string, before: Record<string, unknown>, after: Record<string, unknown>, ignoreChanges: string[] = []): string[] {
  const table = forceNewFor(type);
  if (!table) return [];
  const ignored = (path: string) => ignoreChanges.some((i) => path === i || path.startsWith(`${i}.`) || i.startsWith(`${path}.`));
  return table.paths.filter((path) => !ignored(path) && JSON.stringify(valuesAt(before, path)) !== JSON.stringify(valuesAt(after, path)));
}
