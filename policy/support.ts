import type { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

/** Resource type tokens the rules look at; matching on tokens keeps the pack free of provider SDK versions. */
export const TYPES = {
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
  dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
  apiToken: "cloudflare:index/apiToken:ApiToken",
} as const;

/** Source ranges that mean "the whole internet". */
export const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Whether a port spec ("22", "1000-2000", or absent for all) covers a port. */
export function portCovers(spec: string | undefined, port: number): boolean {
  if (spec === undefined || spec === "" || spec === "any") return true;
  const [low, high] = spec.split("-").map(Number);
  return high === undefined ? low === port : low <= port && port <= high;
}

/** What every rule states: its id, what it checks, and how to fix what it finds. */
interface RuleSpec {
  id: string;
  description: string;
  remediation: string;
  configSchema?: PolicyConfigSchema;
}

const mandatory = (spec: RuleSpec) => ({
  name: spec.id,
  description: spec.description,
  enforcementLevel: "mandatory" as const,
  remediationSteps: spec.remediation,
  configSchema: spec.configSchema,
});

/** A mandatory rule over the resources of some types: the type check and the policy fields in one place. */
export function resourceRule(
  spec: RuleSpec & {
    /** Resource type tokens the rule applies to. */
    types: string[];
    validate: (props: Record<string, any>, args: ResourceValidationArgs, report: ReportViolation) => void;
  },
): ResourceValidationPolicy {
  return {
    ...mandatory(spec),
    validateResource: (args, report) => {
      if (!spec.types.includes(args.type)) return args.notApplicable(`not a ${spec.types.join(" or ")}`);
      spec.validate(args.props, args, report);
    },
  };
}

/** A mandatory rule over a whole stack, for what one resource alone cannot show. */
export function stackRule(spec: RuleSpec & { validate: (args: StackValidationArgs, report: ReportViolation) => void }): StackValidationPolicy {
  return { ...mandatory(spec), validateStack: spec.validate };
}
