import * as pulumi from "@pulumi/pulumi";

/** What building one stack's graph yields: its exported outputs, and the files it renders for machines. */
export interface StackBuild {
  /** Exported as the stack's outputs. */
  outputs: Record<string, pulumi.Input<unknown>>;
  /** File name to content, exactly as a machine receives it; the offline plan writes these out for the real tools. */
  artifacts: Record<string, pulumi.Input<string>>;
}
