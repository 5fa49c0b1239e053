#!/usr/bin/env node
// Copies the pinned third-party browser files from node_modules (installed by `npm ci` from
// package-lock.json) into public/vendor/, and writes their Subresource Integrity hashes into
// public/index.html. `--check` changes nothing and fails when the served copies, their names or
// their integrity attributes differ from what the lock file pins (run by scripts/test-client).
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");
const lock = JSON.parse(readFileSync(root + "package-lock.json", "utf8"));

// What the page loads: package, file inside it, served name (the exact version is in the name, so
// a cache can never mix versions).
const files = [{ pkg: "mqtt", from: "dist/mqtt.min.js", name: (v) => `mqtt-${v}.min.js`, license: "LICENSE.md" }];

let problems = 0;
let html = readFileSync(root + "public/index.html", "utf8");
for (const f of files) {
    const pinned = lock.packages?.[`node_modules/${f.pkg}`]?.version;
    if (!pinned) throw new Error(`${f.pkg} is not in package-lock.json; add it to devDependencies with an exact version`);
    const pkgJson = JSON.parse(readFileSync(`${root}node_modules/${f.pkg}/package.json`, "utf8"));
    if (pkgJson.version !== pinned)
        throw new Error(`node_modules/${f.pkg} is ${pkgJson.version}, the lock pins ${pinned}; run npm ci`);
    const source = `${root}node_modules/${f.pkg}/${f.from}`;
    const served = `public/vendor/${f.name(pinned)}`;
    const bytes = readFileSync(source);
    const sri = "sha384-" + createHash("sha384").update(bytes).digest("base64");
    const tag = new RegExp(`<script src="vendor/${f.pkg}-[^"]+" integrity="[^"]*" crossorigin="anonymous"></script>`);
    const wanted = `<script src="vendor/${f.name(pinned)}" integrity="${sri}" crossorigin="anonymous"></script>`;
    if (!tag.test(html)) throw new Error(`public/index.html has no <script src="vendor/${f.pkg}-…"> tag to update`);
    if (check) {
        if (!existsSync(root + served) || !readFileSync(root + served).equals(bytes)) {
            console.error(`vendor: ${served} differs from ${f.pkg}@${pinned}/${f.from}; run npm run vendor`);
            problems++;
        }
        if (!html.includes(wanted)) {
            console.error(`vendor: public/index.html does not load ${served} with integrity ${sri}; run npm run vendor`);
            problems++;
        }
    } else {
        copyFileSync(source, root + served);
        copyFileSync(`${root}node_modules/${f.pkg}/${f.license}`, `${root}public/vendor/${f.pkg}-${pinned}.LICENSE.md`);
        html = html.replace(tag, wanted);
        console.log(`vendor: ${served} (${f.pkg}@${pinned}) ${sri}`);
    }
}
if (!check) writeFileSync(root + "public/index.html", html);
if (problems) process.exit(1);
if (check) console.log("vendor: served copies and integrity attributes match package-lock.json");
