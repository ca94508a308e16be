// Extracts GitLab's CI JSON schema that gitlab-ci-local bundles (var X={$schema:...,$id:"https://gitlab.com/.gitlab-ci.yml",...}).
import fs from "node:fs";
const src = fs.readFileSync(process.argv[2], "utf8");
const marker = '$id:"https://gitlab.com/.gitlab-ci.yml"';
const at = src.indexOf(marker);
if (at < 0) throw new Error("schema marker not found");
let start = src.lastIndexOf("{", at);
let depth = 0, i = start, q = null;
for (; i < src.length; i++) {
  const c = src[i];
  if (q) { if (c === "\\") { i++; continue; } if (c === q) q = null; continue; }
  if (c === '"' || c === "'" || c === "`") { q = c; continue; }
  if (c === "{") depth++;
  else if (c === "}") { depth--; if (depth === 0) break; }
}
const obj = (0, eval)("(" + src.slice(start, i + 1) + ")");
process.stdout.write(JSON.stringify(obj, null, 1) + "\n");
