import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/**
 * A short hash of the files a pod reads once at start, for a pod-template annotation: a change to any of them rolls
 * the pod. Not secret, though its inputs may be: 16 hex digits of SHA-256 reveal nothing of them.
 */
export function configHash(files: pulumi.Input<string>[]): pulumi.Output<string> {
  // Each file's length goes in before it, so moving text from one file to the next changes the hash too.
  const digest = (texts: string[]) => texts.reduce((hash, text) => hash.update(`${Buffer.byteLength(text)}:`).update(text), createHash("sha256")).digest("hex");
  return pulumi.unsecret(pulumi.all(files).apply((texts) => digest(texts).slice(0, 16)));
}
