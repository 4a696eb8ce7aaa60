/** The files a push's standard input carries (components/edge/pushCommands.ts renderPushInput), by staged name. */
export function stagedFilesOf(stdin: string): Record<string, string> {
  return Object.fromEntries(
    stdin
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [name, content = ""] = line.split(" ");
        return [name, Buffer.from(content, "base64").toString()];
      }),
  );
}

/** The same standard input with one staged file rewritten. */
export function withStagedFile(stdin: string, name: string, rewrite: (content: string) => string): string {
  return stdin
    .split("\n")
    .map((line) => (line.startsWith(`${name} `) ? `${name} ${Buffer.from(rewrite(stagedFilesOf(line)[name])).toString("base64")}` : line))
    .join("\n");
}
