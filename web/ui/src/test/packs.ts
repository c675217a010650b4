// The built-in template packs under `examples/`, for round-trip tests: every JSON definition of
// one kind (`forms`, `workflows`) in every pack, named `pack/file.json`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const examples = join(__dirname, "..", "..", "..", "..", "examples");

export function packDefinitions(kind: string): [string, unknown][] {
  const found: [string, unknown][] = [];
  for (const pack of readdirSync(examples, { withFileTypes: true })) {
    if (!pack.isDirectory()) continue;
    const dir = join(examples, pack.name, kind);
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of files.filter((f) => f.endsWith(".json"))) found.push([`${pack.name}/${file}`, JSON.parse(readFileSync(join(dir, file), "utf8")) as unknown]);
  }
  return found;
}
