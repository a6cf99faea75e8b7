/**
 * `npm run bench`: every figure through the real provider host against the emulator, TLS
 * verified. Re-runs itself with `NODE_EXTRA_CA_CERTS` set to the bench CA (as `npm test` does),
 * then measures: the serialized provider's size, latency, the shell-loop comparison, bulk at 16
 * and 64 in flight (1,000 and 5,000 secrets, and with 50 ms of latency), the cost of a backup
 * into a folder of 100,000 backups, a CPU profile of the host and the emulator during a bulk
 * run, a VaultBackup of 260 and 1,016 secrets through the harness, restoring 1,000 objects, and a
 * VaultBackup of 1,016, 2,516 and 5,016 secrets through the real Pulumi CLI (`cli`, with and
 * without checkpoints; see `DEFAULT_CLI_PLANS`). Prints a table and writes `bench/results.json`; with `--only` it merges into it
 * (see `writeResults`).
 *
 * Usage: node dist/bench/run.js [--only size,latency,compare,bulk,folder,profile,vaultbackup,restore,cli]
 *        [--cli-plans bulk64,bulk64@64,bulk2500,bulk5000:skip] [--no-write]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { rerunTrustingCa } from "../scripts/trust-ca";
import { parseArgs } from "node:util";
import { benchCa, repoRoot, scratchDir, secretName, startBenchEmulator } from "./setup";
import type { RunningEmulator } from "../emulator";
import { installedPackage, installedRegistration, measureProviderSize } from "./provider-size";
import { measureLatency } from "./latency";
import { measureComparison } from "./compare";
import { VAULT_LIMIT, measureBulkRepeated, type BulkPlan, type InstalledRun } from "./bulk";
import { startEmulatorProcess, type EmulatorProcess } from "./emulator-process";
import { measureBigFolder } from "./big-folder";
import { measureFloor } from "./floor";
import { measureProfile } from "./profile";
import { cliFigures, figures, loadAverage, table, writeResults, type Measurements } from "./report";
import { measureRestore, restoreFigures, type RestoreBenchResult } from "./restore";
import { measureVaultBackup } from "./vault-backup-run";
import { round } from "./stats";
import { measureCli, type CliPlan } from "./cli";
import { VAULTS, type BenchVault } from "./setup";

/**
 * The bulk runs, with the package installed as a user has it (see `installedRun`) and the resources
 * as VaultBackup's children (one vault call per backup): 1,000 secrets at 16 and 64 in flight under
 * Key Vault's real limit; 5,000 at 64 (the host's memory must stay flat); 1,000 at 64 as standalone
 * SecretBackups (two calls each) and from this checkout (the longer `__provider`); 1,000 at 64 with
 * 50 ms per call (a vault in another region); then a pacing check at a tenth of the limit (400 per
 * 10 s, pacing scaled alike to 360) where demand exceeds the limit, to see pacing hold it without 429s.
 */
const BULK_PLANS: Array<BulkPlan & { fromCheckout?: boolean; once?: boolean }> = [
    { label: "bulk 16 in flight", vault: "bulk16", parallel: 16, secrets: 1000, limit: VAULT_LIMIT },
    { label: "bulk 64 in flight", vault: "bulk64", parallel: 64, secrets: 1000, limit: VAULT_LIMIT },
    { label: "bulk 64 in flight, 5,000 secrets", vault: "bulk5000", parallel: 64, secrets: 5000, limit: VAULT_LIMIT },
    { label: "bulk 64 in flight, standalone SecretBackups", vault: "bulk64", parallel: 64, secrets: 1000, limit: VAULT_LIMIT, standalone: true },
    { label: "bulk 64 in flight, from a checkout", vault: "bulk64", parallel: 64, secrets: 1000, limit: VAULT_LIMIT, fromCheckout: true },
    { label: "bulk 64 in flight, +50 ms per call", vault: "bulk64", parallel: 64, secrets: 1000, limit: VAULT_LIMIT, latencyMs: 50 },
    { label: "pacing check, limit 400/10 s, 64 in flight", vault: "paced", parallel: 64, secrets: 500, limit: { operations: 400, windowMs: 10_000 }, pacingPer10Seconds: 360, once: true },
];

/** How often each bulk plan runs; the table shows the run with the median host CPU (see `measureBulkRepeated`). */
const BULK_REPEATS = 3;

/** New backups into an empty folder and into one of 100,000 earlier backups. */
const FOLDER_PLAN: BulkPlan = { label: "500 new backups, 64 in flight", vault: "bulk64", parallel: 64, secrets: 500, limit: VAULT_LIMIT };

/** The profiled run (host and emulator under `--cpu-prof`). */
const PROFILE_PLAN: BulkPlan = { label: "profiled bulk 64 in flight", vault: "bulk64", parallel: 64, secrets: 1000, limit: VAULT_LIMIT };

/** The CLI phase's stacks unless `--cli-plans` says otherwise (the syntax is `cliPlansFrom`'s). */
const DEFAULT_CLI_PLANS = "bulk64,bulk64@64,bulk2500,bulk5000:skip";

const PHASES = ["size", "latency", "compare", "bulk", "folder", "profile", "vaultbackup", "restore", "cli"] as const;
type Phase = (typeof PHASES)[number];

async function main(): Promise<void> {
    const { caCertPath } = await benchCa();
    rerunTrustingCa(caCertPath);
    const { values } = parseArgs({ options: { only: { type: "string" }, "no-write": { type: "boolean" }, "cli-plans": { type: "string" } } });
    const only = phasesFrom(values.only);
    const cliPlans = cliPlansFrom(values["cli-plans"] ?? DEFAULT_CLI_PLANS);
    process.chdir(repoRoot); // the provider's module id is relative to the project root, as under `pulumi up`
    fs.rmSync(scratchDir, { recursive: true, force: true });
    const loadAverageAtStart = loadAverage();
    const started = performance.now();
    const emulator = await startBenchEmulator();
    const m: Measurements & { restore?: RestoreBenchResult } = {};
    const phaseSeconds: Record<string, number> = {};
    let current: { label: string; at: number } | undefined;
    const step = (label: string): void => {
        const now = performance.now();
        if (current) phaseSeconds[current.label] = round((now - current.at) / 1000, 1);
        current = { label, at: now };
        process.stdout.write(`[${round((now - started) / 1000, 1)} s] ${label}\n`);
    };
    try {
        if (only.has("size")) (step("provider size (npm pack, offline install)"), (m.size = await measureProviderSize(emulator)));
        if (only.has("latency")) (step("latency"), (m.latency = await measureLatency(emulator)));
        if (only.has("compare")) (step("shell loop vs provider, 50 secrets"), (m.compare = await measureComparison(emulator)));
        if (only.has("bulk") || only.has("folder")) {
            step("emulator in its own process (for its CPU figures)");
            let own: EmulatorProcess | undefined;
            try {
                own = await startEmulatorProcess();
                step("the package as installed (npm pack, offline install)");
                const installed = await installedRun(emulator);
                if (only.has("bulk")) {
                    m.bulk = [];
                    for (const { fromCheckout, once, ...plan } of BULK_PLANS) {
                        step(plan.label);
                        m.bulk.push(await measureBulkRepeated(own, fromCheckout ? plan : { ...plan, installed }, once ? 1 : BULK_REPEATS));
                    }
                    step("the host's own cost: a provider that does nothing, installed and from a checkout");
                    m.floor = [await measureFloor(own, installed), await measureFloor(own)];
                }
                if (only.has("folder")) (step("new backups into an empty folder and a folder of 100,000"), (m.folder = await measureBigFolder(own, { ...FOLDER_PLAN, installed })));
            } finally {
                await own?.close();
            }
        }
        if (only.has("profile")) (step("CPU profile of host and emulator, bulk 64 in flight"), (m.profile = await measureProfile({ ...PROFILE_PLAN, installed: await installedRun(emulator) }, path.join(scratchDir, "profiles"))));
        if (only.has("vaultbackup")) {
            step("VaultBackup of 260 and 1,016 secrets through the harness");
            // A failure here is reported, not allowed to throw away the figures measured so far.
            m.vaultBackup = await measureVaultBackup(emulator, (await installedPackage()).project).catch((e: Error) => ({ runs: [], growthOverLinear: NaN, error: e.message }));
        }
        if (only.has("cli")) {
            step(`VaultBackup through the real Pulumi CLI (${cliPlans.length} stacks)`);
            let own: EmulatorProcess | undefined;
            try {
                own = await startEmulatorProcess();
                const { project } = await installedPackage();
                m.cli = await measureCli(own, project, cliPlans).catch((e: Error) => ({ runs: [], cli: "", sampleMs: 0, error: e.message }));
            } finally {
                await own?.close();
            }
        }
    } finally {
        await emulator.close();
    }
    if (only.has("restore")) (step("restore 1,000 objects"), (m.restore = await measureRestore()));
    const totalSeconds = round((performance.now() - started) / 1000, 1);
    step("done");
    const rows = [...figures(m), ...(m.restore ? restoreFigures(m.restore) : [])];
    const shown = [...rows, ...(m.cli ? cliFigures(m.cli) : [])];
    process.stdout.write(`\n${table(shown)}\n\nbench time: ${totalSeconds} s (after compiling); load average ${loadAverageAtStart} at the start, ${loadAverage()} at the end on ${os.availableParallelism()} CPUs\n`);
    const folderRuns = m.folder ? [m.folder.empty, m.folder.full] : [];
    const failed = [...(m.cli?.error ? [`CLI: ${m.cli.error}`] : []), ...(m.vaultBackup?.error ? [`VaultBackup: ${m.vaultBackup.error}`] : []), ...(m.latency?.failures ?? []), ...(m.compare?.providerSequential.failures ?? []), ...[...(m.bulk ?? []), ...folderRuns].flatMap((b) => b.failures), ...(m.restore?.failed ? [`${m.restore.failed} of ${m.restore.objects} restores failed`] : [])];
    trimFailures(m);
    if (!values["no-write"]) {
        const out = path.join(repoRoot, "bench", "results.json");
        writeResults(out, rows, m, { totalSeconds, phaseSeconds, loadAverageAtStart, phases: [...only], partial: only.size < PHASES.length });
        process.stdout.write(`wrote ${path.relative(repoRoot, out)}\n`);
    }
    if (failed.length) {
        process.stderr.write(`${failed.length} backups failed, e.g.:\n${failed.slice(0, 3).join("\n")}\n`);
        process.exitCode = 1;
    }
}

let installedRunOnce: Promise<InstalledRun> | undefined;

/** The packed package installed into a scratch project, and the `__provider` a program there registers (the bulk and profile runs use both); once per bench run. */
function installedRun(emulator: RunningEmulator): Promise<InstalledRun> {
    installedRunOnce ??= (async () => {
        const { project } = await installedPackage();
        const registered = await installedRegistration(project, emulator.vaults.bulk64, secretName(0), "./backups");
        return { project, providerText: String(registered.inputs.__provider) };
    })();
    return installedRunOnce;
}

function phasesFrom(only: string | undefined): Set<Phase> {
    if (!only) return new Set(PHASES);
    const asked = only.split(",").map((s) => s.trim());
    for (const p of asked) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--only: unknown phase "${p}" (use ${PHASES.join(", ")})`);
    return new Set(asked as Phase[]);
}

/**
 * The CLI phase's stacks from `--cli-plans`: comma-separated `vault[:skip][@parallel]`. Each vault
 * runs with checkpoints and with PULUMI_SKIP_CHECKPOINTS, or with `:skip` only the latter (with
 * checkpoints, 5,016 secrets would take the best part of an hour here: see the README); `@N`
 * passes `--parallel N` (default: the CLI's own, unbounded).
 */
function cliPlansFrom(spec: string): CliPlan[] {
    const plans: CliPlan[] = [];
    for (const item of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
        const m = /^(\w+)(:skip)?(?:@(\d+))?$/.exec(item);
        if (!m || !(m[1] in VAULTS)) throw new Error(`--cli-plans: "${item}" is not vault[:skip][@parallel] with a vault of ${Object.keys(VAULTS).join(", ")}`);
        const parallel = m[3] ? Number(m[3]) : undefined;
        for (const skipCheckpoints of m[2] ? [true] : [false, true]) plans.push({ vault: m[1] as BenchVault, parallel, skipCheckpoints });
    }
    return plans;
}

// Keep the results file readable: at most 3 failure messages per phase (the counts are in the figures).
function trimFailures(m: Measurements): void {
    if (m.latency) m.latency.failures = m.latency.failures.slice(0, 3);
    if (m.compare) m.compare.providerSequential.failures = m.compare.providerSequential.failures.slice(0, 3);
    for (const b of [...(m.bulk ?? []), ...(m.folder ? [m.folder.empty, m.folder.full] : [])]) b.failures = b.failures.slice(0, 3);
}

main().catch((e: Error) => {
    process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
});
