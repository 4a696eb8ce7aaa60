/** One DNS record, before it becomes a cloudflare.DnsRecord. T is string, or an Output of one. */
export interface DnsRecordPlan<T> {
  /** Stable resource name. */
  key: string;
  name: string;
  type: "A" | "AAAA" | "CNAME" | "CAA";
  /** Record content; CAA records carry data instead. */
  content?: T | string;
  data?: { flags: number; tag: "issue" | "issuewild" | "iodef"; value: string };
}

export interface DnsPlanSpec<T> {
  domain: string;
  edgeHostname: string;
  ipv4: T;
  /** Absent while IPv6 is off: an AAAA whose traffic is dropped breaks IPv6 clients. */
  ipv6?: T;
  /** Hostnames of the catalog's public services. */
  publicHostnames: string[];
  /** The CA allowed to issue for the zone, e.g. "letsencrypt.org". */
  caaIssuer: string;
  /** Where CAs report refused requests. */
  caaContact: string;
}

/**
 * The CA may issue only after DNS-01 (RFC 8657 `validationmethods`): every public name resolves to the VPS, so HTTP-01
 * or TLS-ALPN-01 would let whoever holds the VPS get a certificate for it. Only the home cert-manager, with the
 * zone-scoped token, can pass DNS-01.
 */
export const dnsValidatedOnly = (issuer: string) => `${issuer}; validationmethods=dns-01`;

/** Every record the edge publishes: the edge's address, a CNAME per public service, and CAA for the one CA. */
export function planDnsRecords<T>(spec: DnsPlanSpec<T>): DnsRecordPlan<T>[] {
  const records: DnsRecordPlan<T>[] = [{ key: "edge-a", name: spec.edgeHostname, type: "A", content: spec.ipv4 }];
  if (spec.ipv6 !== undefined) records.push({ key: "edge-aaaa", name: spec.edgeHostname, type: "AAAA", content: spec.ipv6 });
  for (const hostname of [...spec.publicHostnames].sort()) {
    records.push({ key: `cname-${hostname}`, name: hostname, type: "CNAME", content: spec.edgeHostname });
  }
  records.push(
    { key: "caa-issue", name: spec.domain, type: "CAA", data: { flags: 0, tag: "issue", value: dnsValidatedOnly(spec.caaIssuer) } },
    { key: "caa-issuewild", name: spec.domain, type: "CAA", data: { flags: 0, tag: "issuewild", value: dnsValidatedOnly(spec.caaIssuer) } },
    { key: "caa-iodef", name: spec.domain, type: "CAA", data: { flags: 0, tag: "iodef", value: `mailto:${spec.caaContact}` } },
  );
  return records;
}

/** The records as an aligned text table, for the plan's output directory and PR comments. */
export function renderDnsTable(records: DnsRecordPlan<string>[]): string {
  const rows = records.map((r) => [r.name, r.type, r.content ?? `${r.data!.flags} ${r.data!.tag} "${r.data!.value}"`]);
  const all = [["NAME", "TYPE", "CONTENT"], ...rows];
  const widths = [0, 1].map((col) => Math.max(...all.map((row) => row[col].length)));
  return `${all.map((row) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`.trimEnd()).join("\n")}\n`;
}
