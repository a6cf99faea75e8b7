/**
 * `npm run demo`: the main job, end to end, on this machine alone. Starts the Key Vault emulator
 * with a seeded vault (kept in `.demo/` between runs), backs up its secrets with the root Pulumi
 * program (`pulumi up`, building the pinned CLI first where Go is, else the provider-host harness), prints a table,
 * then restores one backup into a fresh vault and compares every version. A second run takes no
 * new backup unless a secret changed (`--rotate <secret>` changes one first). TLS is verified
 * throughout: this script makes the demo's CA and runs the demo (`demo/main.ts`) in a child with
 * NODE_EXTRA_CA_CERTS pointing at it.
 *
 * Usage: npm run demo [-- --rotate <secret>]... [-- --reset] [-- --harness]   (DEMO_DIR=<folder> keeps the state elsewhere;
 * --harness: the provider-host harness instead of the CLI)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { loadOrCreateCa } from "../emulator/tls";
import { buildPulumiCli } from "./harness/pulumi-cli";
import { DEMO_SECRETS, demoPaths, demoRoot, demoRootProblem } from "./demo/settings";

const projectRoot = path.resolve(__dirname, "..", "..");

async function main(): Promise<void> {
    const started = Date.now();
    const { values } = parseArgs({ options: { rotate: { type: "string", multiple: true }, reset: { type: "boolean" }, harness: { type: "boolean" }, help: { type: "boolean" } } });
    if (values.help) return void console.log("Usage: npm run demo [-- --rotate <secret>]... [-- --reset] [-- --harness]");
    const rotate = values.rotate ?? [];
    const unknown = rotate.filter((s) => !DEMO_SECRETS.includes(s));
    if (unknown.length) throw new Error(`--rotate: no demo secret named ${unknown.join(", ")} (there are ${DEMO_SECRETS.join(", ")})`);
    const paths = demoPaths(demoRoot(projectRoot));
    // Before --reset too: a DEMO_DIR naming a file must not remove it.
    const problem = demoRootProblem(paths.root);
    if (problem) throw new Error(problem);
    if (values.reset) fs.rmSync(paths.root, { recursive: true, force: true });
    const ca = await loadOrCreateCa(paths.ca);
    // The real `pulumi up` where Go can build the CLI (once: minutes on a fresh machine, then reused).
    const cli = values.harness ? "skipped" : buildPulumiCli();
    if (cli === "failed") throw new Error("building the Pulumi CLI failed (its output is above); `npm run demo -- --harness` runs the demo without it");
    const child = spawnSync(process.execPath, [path.join(__dirname, "demo", "main.js"), ...rotate], {
        stdio: "inherit",
        env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caCertPath, ...(values.harness ? { KVB_DEMO_HARNESS: "1" } : {}) },
    });
    process.exitCode = child.status ?? 1;
    if (child.status === 0) console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
});
