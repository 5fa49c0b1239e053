// Loads the page's classic scripts into a fresh vm context (no DOM), the way a browser would run
// them one after another, and returns that context's global object.
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const publicDir = fileURLToPath(new URL("../../public/", import.meta.url));

export function loadScripts(files, extraGlobals = {}) {
    const context = vm.createContext({ crypto: webcrypto, TextEncoder, TextDecoder, console, ...extraGlobals });
    for (const file of files) {
        vm.runInContext(readFileSync(publicDir + file, "utf8"), context, { filename: file });
    }
    return context;
}
