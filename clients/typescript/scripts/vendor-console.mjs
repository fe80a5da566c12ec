// Copy the console's third-party browser files from node_modules into the gateway package
// (gateway/console/static/vendor), at the versions package-lock.json pins, and record them in
// MANIFEST.json. A pip-installed gateway then serves them itself: no CDN, no Node.js needed.
// tests/console/test_console_http.py (test_vendored_files_*) checks that the committed files
// equal these copies.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const target = join(root, "..", "..", "gateway", "console", "static", "vendor");

export const VENDORED = {
  "lightweight-charts": {
    folder: "lightweight-charts",
    files: ["dist/lightweight-charts.standalone.production.mjs", "LICENSE"],
  },
  "swagger-ui-dist": {
    folder: "swagger-ui",
    files: ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"],
  },
};

const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
const manifest = {};
for (const [name, { folder, files }] of Object.entries(VENDORED)) {
  const pinned = lock.packages[`node_modules/${name}`];
  const out = join(target, folder);
  mkdirSync(out, { recursive: true });
  const hashes = {};
  for (const file of files) {
    const source = join(root, "node_modules", name, file);
    const base = file.split("/").pop();
    copyFileSync(source, join(out, base));
    hashes[base] = createHash("sha256").update(readFileSync(source)).digest("hex");
  }
  manifest[name] = {
    version: pinned.version,
    integrity: pinned.integrity,
    folder,
    files: Object.fromEntries(files.map((f) => [f, hashes[f.split("/").pop()]])),
  };
}
writeFileSync(join(target, "MANIFEST.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`vendored ${Object.keys(manifest).join(", ")} into ${target}`);
