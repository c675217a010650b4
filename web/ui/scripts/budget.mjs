// The bundle budget: what a first visit downloads (the entry chunk, the chunks it imports
// statically, and their CSS) must stay within 350 KB gzip; lazily imported chunks are listed
// apart. Reads the build's manifest: `node scripts/budget.mjs [build folder]` (default dist).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 350 * 1024;
const dir = process.argv[2] ?? "dist";
const manifest = JSON.parse(readFileSync(join(dir, ".vite", "manifest.json"), "utf8"));

const gzipped = (file) => gzipSync(readFileSync(join(dir, file)), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

const initial = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || initial.has(chunk.file)) return;
  initial.add(chunk.file);
  for (const css of chunk.css ?? []) initial.add(css);
  for (const imported of chunk.imports ?? []) visit(imported);
};
for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);

const lazy = new Set();
for (const chunk of Object.values(manifest)) {
  if (!initial.has(chunk.file) && chunk.file.endsWith(".js")) lazy.add(chunk.file);
  for (const css of chunk.css ?? []) if (!initial.has(css)) lazy.add(css);
}

let total = 0;
console.log("initial (loaded by index.html):");
for (const file of [...initial].sort()) {
  const size = gzipped(file);
  total += size;
  console.log(`  ${file.padEnd(48)} ${kb(size).padStart(10)} gzip`);
}
console.log(`  ${"total".padEnd(48)} ${kb(total).padStart(10)} gzip (budget ${kb(BUDGET_BYTES)})`);
if (lazy.size > 0) {
  console.log("lazy (loaded when a page needs them):");
  for (const file of [...lazy].sort()) console.log(`  ${file.padEnd(48)} ${kb(gzipped(file)).padStart(10)} gzip`);
}
if (total > BUDGET_BYTES) {
  console.error(`over budget: the initial JS+CSS is ${kb(total)} gzip, more than ${kb(BUDGET_BYTES)}`);
  process.exit(1);
}
