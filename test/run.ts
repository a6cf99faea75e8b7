/**
 * The test entry point behind `npm test`: makes (once) the local CA that every test emulator and
 * Azurite certificate chains to, re-runs itself with `NODE_EXTRA_CA_CERTS` pointing at it so every
 * client here and in child processes verifies TLS for real, then runs mocha on the compiled tests
 * and prints `tests: N passed, N failed, N skipped` from the runner's own counts. Where Go is on
 * PATH it first builds the pinned Pulumi CLI (`npm run -s pulumi-cli`, reused when built), so the
 * CLI tests run rather than skip. The Azure CLI and
 * other machine credentials are kept out (see `isolateFromMachineCredentials`).
 *
 * Usage: node dist/test/run.js [--grep PATTERN] [files...]
 */
import * as path from "node:path";
import * as fs from "node:fs";
import Mocha from "mocha";
import { testCaDir } from "./helpers/paths";
import { loadOrCreateCa } from "../emulator/tls";
import { rerunTrustingCa } from "../scripts/trust-ca";
import { buildPulumiCli } from "../scripts/harness/pulumi-cli";

/**
 * Makes the tests independent of the machine's Azure sign-in, for this process and every child it
 * starts (provider host, `secret-backup`, the demo): no `AZURE_*` setting of the user's shell
 * leaks in, and `DefaultAzureCredential` tries only the environment (the tests give credentials
 * explicitly), never the Azure CLI, developer tools or a managed identity of the machine.
 */
function isolateFromMachineCredentials(env: NodeJS.ProcessEnv): void {
    for (const key of Object.keys(env)) if (key.startsWith("AZURE_")) delete env[key];
    env.AZURE_TOKEN_CREDENTIALS = "EnvironmentCredential";
}

/** The longest a whole test run may take (it takes about 10 min on the 2-core build machine). */
const RUN_DEADLINE_MS = 45 * 60_000;

async function main(): Promise<void> {
    isolateFromMachineCredentials(process.env);
    // Where Go is on PATH, the CLI tests run against the real Pulumi CLI: build it (a no-op when
    // the pinned build is there) rather than skip them. A failed build fails the run.
    if (!process.env.KVB_PULUMI_CLI_READY) {
        const built = buildPulumiCli();
        if (built === "failed") {
            process.stdout.write("\nnpm run -s pulumi-cli failed (its output is above)\ntests: 0 passed, 1 failed\n");
            process.exit(1);
        }
        process.env.KVB_PULUMI_CLI_READY = built;
    }
    const ca = await loadOrCreateCa(testCaDir);
    // A deadline for the whole run, kept by this parent process: a hang in native code (once, a
    // deadlock inside Node's crypto) stops every timer in the child, mocha's too.
    rerunTrustingCa(ca.caCertPath, {
        timeoutMs: RUN_DEADLINE_MS,
        onTimeout: () => process.stdout.write(`\nthe test run did not finish within ${RUN_DEADLINE_MS / 60_000} min and was stopped (a hang: the last test named above did not end)\ntests: 0 passed, 1 failed\n`),
    });
    const args = process.argv.slice(2);
    let grep: string | undefined;
    const files: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--grep") grep = args[++i];
        else files.push(path.resolve(args[i]));
    }
    const mocha = new Mocha({ timeout: 60_000, reporter: "spec", grep });
    const selected = files.length ? files : findTests(__dirname);
    for (const f of selected) mocha.addFile(f);
    const runner = mocha.run();
    runner.on("end", () => {
        const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
        process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
        process.exitCode = s.failures > 0 ? 1 : 0;
        // Let mocha's own hooks finish; then make sure no stray handle keeps us alive.
        setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
    });
}

function findTests(dir: string): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) out.push(...findTests(p));
        else if (entry.name.endsWith(".test.js")) out.push(p);
    }
    return out;
}

main().catch((e) => {
    console.error(e);
    process.stdout.write("\ntests: 0 passed, 1 failed\n");
    process.exit(1);
});
