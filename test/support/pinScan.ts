// Every pinned version in the files Renovate should keep current, found without the config's regexes: YAML through
// its parser, TypeScript string literals, the tool script's assignments and package.json's fields. What the Renovate
// config's managers extract is compared against this list.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ts from "typescript";
import { isMap, isScalar, parseDocument, visit } from "yaml";
import { ROOT } from "./renovateModel";

/** One pin: where its version (or digest) stands, and for images and actions the name it belongs to. */
export interface Pin {
  file: string;
  line: number;
  value: string;
  name?: string;
  kind: "version" | "image" | "action" | "npm" | "runtime" | "runner";
  /** Where in a package.json or workflow it sits: dependencies, devDependencies, engines, uses, with or runs-on. */
  section?: string;
}

/** An exact version such as 1.18.2, v1.21.1 or 41.3.0-rc.1 (three parts, so no IPv4 address is one). */
const VERSION = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;
/** A container image with a registry host and a tag, a digest or both. */
const IMAGE = /^([a-z0-9-]+(?:\.[a-z0-9-]+)+\/[a-z0-9._/-]+?)(?::([\w][\w.-]*))?(?:@(sha256:[a-f0-9]{64}))?$/;

const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const lineAt = (text: string, index: number) => text.slice(0, index).split("\n").length;

function classify(file: string, line: number, value: string): Pin | undefined {
  if (VERSION.test(value)) return { file, line, value, kind: "version" };
  const image = IMAGE.exec(value);
  if (image && (image[2] || image[3])) return { file, line, value: image[2] ?? image[3], name: image[1], kind: "image" };
  return undefined;
}

/** Pulumi project and stack files: every scalar that is an exact version or an image, wherever it sits. */
function yamlConfigPins(file: string): Pin[] {
  const text = read(file);
  const pins: Pin[] = [];
  visit(parseDocument(text), {
    Scalar(_, node) {
      const pin = typeof node.value === "string" && node.range ? classify(file, lineAt(text, node.range[0]), node.value) : undefined;
      if (pin) pins.push(pin);
    },
  });
  return pins;
}

/** TypeScript under components/: every string literal that is, as a whole, an exact version or an image. */
function typescriptPins(file: string): Pin[] {
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true);
  const pins: Pin[] = [];
  const visitNode = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const pin = classify(file, source.getLineAndCharacterOfPosition(node.getStart()).line + 1, node.text);
      if (pin) pins.push(pin);
    }
    ts.forEachChild(node, visitNode);
  };
  visitNode(source);
  return pins;
}

/** The tool script: each variable set to a literal version, and each literal module@version. */
function toolScriptPins(file: string): Pin[] {
  return read(file)
    .split("\n")
    .flatMap((line, i) => {
      if (/^\s*#/.test(line)) return [];
      const assigned = /^\s*[A-Z_]+=["']?(v?\d+\.\d+[\w.-]*)["']?\s*$/.exec(line)?.[1];
      const literal = [...line.matchAll(/@(v\d+\.\d+[\w.-]*)/g)].map((m) => m[1]);
      return [...(assigned ? [assigned] : []), ...literal].map((value) => ({ file, line: i + 1, value, kind: "version" as const }));
    });
}

/** The action a `with` input belongs to: the `uses` of the step whose `with` map holds it, without its ref. */
function stepAction(path: readonly unknown[]): string | undefined {
  const step = path[path.length - 3];
  const uses = isMap(step) ? step.get("uses") : undefined;
  return typeof uses === "string" ? uses.replace(/@.*$/, "") : undefined;
}

/**
 * Workflows: each step's `uses` ref, each `*-version` input (which Renovate's github-actions manager reads), each
 * plain `version` input (which it does not), named after its action, and each versioned runner image.
 */
function workflowPins(file: string): Pin[] {
  const text = read(file);
  const pins: Pin[] = [];
  visit(parseDocument(text), {
    Pair(_, pair, path) {
      if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== "string" && typeof pair.value.value !== "number") return;
      const key = String(pair.key.value);
      const value = String(pair.value.value);
      const line = lineAt(text, pair.value.range![0]);
      const uses = /^([^./][^@\s]*)@(\S+)$/.exec(value);
      if (key === "uses" && uses) pins.push({ file, line, value: uses[2], name: uses[1], kind: "action", section: "uses" });
      else if (key === "version") pins.push({ file, line, value, name: stepAction(path), kind: "version", section: "with" });
      else if (key.endsWith("-version")) pins.push({ file, line, value, name: key.replace(/-version$/, ""), kind: "runtime", section: "with" });
      else if (key === "runs-on" && /\d/.test(value) && !value.includes("${{")) pins.push({ file, line, value: value.replace(/^[a-z]+-/, ""), name: value.replace(/-[\d.]+$/, ""), kind: "runner", section: "runs-on" });
    },
  });
  return pins;
}

/** package.json: each dependency and devDependency, and the Node range in engines. */
function packagePins(file: string): Pin[] {
  const text = read(file);
  const doc = parseDocument(text);
  const pins: Pin[] = [];
  for (const section of ["dependencies", "devDependencies", "engines"]) {
    const map = doc.get(section, true);
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      if (!isScalar(pair.key) || !isScalar(pair.value)) continue;
      const name = String(pair.key.value);
      if (section === "engines" && name !== "node") continue;
      pins.push({ file, line: lineAt(text, pair.value.range![0]), value: String(pair.value.value), name, kind: section === "engines" ? "runtime" : "npm", section });
    }
  }
  return pins;
}

/** The files that hold pins, each with its scanner, from the repository's own file list. */
export function scanPins(files: string[]): Pin[] {
  return files.flatMap((file) => {
    if (/^Pulumi(\.[^/]+)?\.yaml$/.test(file)) return yamlConfigPins(file);
    if (/^components\/.+\.ts$/.test(file)) return typescriptPins(file);
    if (file === "scripts/install-system-tools") return toolScriptPins(file);
    if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(file)) return workflowPins(file);
    if (/^(policy\/)?package\.json$/.test(file)) return packagePins(file);
    return [];
  });
}
