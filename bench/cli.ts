/**
 * `VaultBackup` of a whole vault through the real Pulumi CLI (`pulumi up --yes --skip-preview`,
 * file:// backend, passphrase secrets), as a user with a large vault runs it: the program in the
 * project where the packed package is installed, the emulator in its own process with Key Vault's
 * real limit (4,000 operations per 10 s) and +20 ms per call, the provider's default pacing.
 *
 * Each `pulumi up` runs under a small Python wrapper (`WRAPPER`) that forks and execs the CLI,
 * waits for it with `waitid(WEXITED | WNOWAIT)` (the CLI has exited but is not reaped, so its
 * /proc entry stays), reads `/proc/<pid>/stat` of that zombie (utime+stime: the `pulumi` process
 * alone, every thread, to its last instruction; cutime+cstime: the children it waited for, i.e.
 * the language host with the program, and the provider host), then reaps it with `wait4` and
 * records its rusage (self + waited descendants) as a cross-check. While the CLI runs, this
 * process samples its process tree every `SAMPLE_MS` for the engine's peak memory and a
 * per-child CPU breakdown (a lower bound: the last sample before a child exits).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type PulumiCli, findPulumi, pulumiEnv, runPulumi, writeProject, type PulumiCliOptions } from "../scripts/harness/pulumi-cli";
import { BULK_LATENCY_MS, VAULT_LIMIT } from "./bulk";
import type { EmulatorProcess } from "./emulator-process";
import { freshFolder, hostEnv, PROJECT, scratchDir, VAULTS, type BenchVault } from "./setup";
import { round } from "./stats";

/** How often the CLI's process tree is sampled while it runs (peak memory, per-child CPU), ms. */
export const SAMPLE_MS = 500;

/** One measured stack: the vault, `--parallel` (undefined: the CLI's default) and whether checkpoints are skipped. */
export interface CliPlan {
    vault: BenchVault;
    /** `--parallel N`; undefined leaves the CLI's default (unbounded for `up`). */
    parallel?: number;
    /** Runs both `up`s with `PULUMI_SKIP_CHECKPOINTS=true` (the state is written once, at the end). */
    skipCheckpoints: boolean;
}

/** What the wrapper and the sampler saw of one `pulumi up`. */
export interface CliUpRun {
    /** Wall time from fork of the CLI to its exit (the wrapper's monotonic clock), ms. */
    wallMs: number;
    /** utime+stime of the `pulumi` process alone (all its threads), from /proc of the unreaped zombie, ms. */
    engineCpuMs: number;
    /** The same, user and system apart, ms. */
    engineUserMs: number;
    engineSystemMs: number;
    /** cutime+cstime of the `pulumi` process: the children it waited for (language host + program, provider host), ms. */
    waitedChildrenCpuMs: number;
    /** wait4's rusage user+system (the process and its waited descendants); ≈ engine + waited children. */
    rusageCpuMs: number;
    /** Per child kind, CPU at the last sample before it exited (a lower bound), ms. */
    sampledChildrenCpuMs: Record<string, number>;
    /** The engine's peak resident memory (VmHWM at the last sample), MiB. */
    enginePeakMemoryMiB: number;
    /** The CLI's summary counts ("created", "unchanged", ...). */
    counts: Record<string, number>;
    /** Backup Secret calls the vault answered 200 during this `up`. */
    backups: number;
    /** 429 answers during this `up`. */
    throttled429: number;
    /** The stack's checkpoint file after the `up`, bytes. */
    checkpointBytes: number;
}

/** Both `up`s of one plan. */
export interface CliRun {
    plan: CliPlan;
    /** Secrets in the plan's vault (each one a `SecretBackup` child of the `VaultBackup`). */
    secrets: number;
    /** The first `up`: every secret backed up. */
    first: CliUpRun;
    /** The second `up`: nothing due, nothing backed up. */
    second: CliUpRun;
}

/** The phase's result: every run, the load average around them, and any failure. */
export interface CliResult {
    /** The plans measured, in order (up to a failure). */
    runs: CliRun[];
    /** The `pulumi` executable that ran. */
    cli: string;
    /** `SAMPLE_MS` of this run. */
    sampleMs: number;
    /** Why the phase stopped early, when it did. */
    error?: string;
}

/**
 * The wrapper (Python 3, stdlib only): `python3 -c WRAPPER <result.json> <argv...>`. Exits with
 * the CLI's exit code; the CLI's stdout and stderr are its own (inherited).
 */
const WRAPPER = String.raw`
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
with open(out + ".pid", "w") as f:
    f.write(str(pid))
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
t1 = time.monotonic()
with open("/proc/%d/stat" % pid) as f:
    stat = f.read()
fields = stat[stat.rindex(")") + 2:].split()
tick = os.sysconf("SC_CLK_TCK")
ms = [int(fields[i]) * 1000 / tick for i in (11, 12, 13, 14)]
_, status, ru = os.wait4(pid, 0)
with open(out, "w") as f:
    json.dump({"wallMs": (t1 - t0) * 1000, "utime": ms[0], "stime": ms[1], "cutime": ms[2], "cstime": ms[3],
               "ruUser": ru.ru_utime * 1000, "ruSystem": ru.ru_stime * 1000}, f)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** A short label of a plan, for the table and folder names. */
export function cliPlanLabel(plan: CliPlan): string {
    return `${VAULTS[plan.vault]} secrets, --parallel ${plan.parallel ?? "default"}${plan.skipCheckpoints ? ", PULUMI_SKIP_CHECKPOINTS" : ""}`;
}

/**
 * Runs each plan as a fresh stack in a fresh file:// backend (stack init, config, `up`, a second
 * `up`) of `vault-backup-program.js` in `installedProject`. Throws when no CLI is built; when an
 * `up` fails or does not back up every secret once, stops there and returns the runs so far with
 * `error` set.
 */
export async function measureCli(emulator: EmulatorProcess, installedProject: string, plans: CliPlan[]): Promise<CliResult> {
    const cli = findPulumi();
    if (!cli) throw new Error("no Pulumi CLI: run `npm run -s pulumi-cli` first");
    await emulator.setLatency(BULK_LATENCY_MS);
    const runs: CliRun[] = [];
    try {
        for (const [i, plan] of plans.entries()) runs.push(await measurePlan(cli, emulator, installedProject, plan, `cli-${i}-${plan.vault}`));
    } catch (e) {
        return { runs, cli: cli.bin, sampleMs: SAMPLE_MS, error: (e as Error).message };
    } finally {
        await emulator.setLatency(0);
    }
    return { runs, cli: cli.bin, sampleMs: SAMPLE_MS };
}

async function measurePlan(cli: PulumiCli, emulator: EmulatorProcess, installedProject: string, plan: CliPlan, name: string): Promise<CliRun> {
    // The project folder sits inside the installed project and the program is copied into it, so
    // the program, the language host (which runs the program from its own folder) and the provider
    // host resolve @pulumi/pulumi and the package from that project's node_modules, as a user's do.
    const projectDir = path.join(installedProject, name);
    fs.rmSync(projectDir, { recursive: true, force: true });
    fs.mkdirSync(projectDir, { recursive: true });
    fs.copyFileSync(path.join(__dirname, "vault-backup-program.js"), path.join(projectDir, "index.js"));
    writeProject(projectDir, { name: PROJECT, program: path.join(projectDir, "index.js") });
    const options: PulumiCliOptions = {
        cli,
        projectDir,
        backendDir: freshFolder(`${name}-state`),
        passphrase: "bench-cli-passphrase",
        env: { ...hostEnv(emulator), PULUMI_SKIP_CHECKPOINTS: plan.skipCheckpoints ? "true" : "false" },
    };
    const stack = "bench";
    await runPulumi(options, ["stack", "init", stack]);
    const p = emulator.principals[0];
    const config: Array<[string, string, boolean]> = [
        ["vaultUrl", emulator.vaults[plan.vault], false],
        ["destination", freshFolder(`${name}-backups`), false],
        ["azure-native:clientId", p.clientId, false],
        ["azure-native:tenantId", emulator.tenantId, false],
        ["azure-native:clientSecret", p.clientSecret, true],
    ];
    for (const [k, v, secret] of config) {
        // A failure's message would carry the command line, value included: name only the key.
        await runPulumi(options, ["config", "set", secret ? "--secret" : "--plaintext", "--stack", stack, "--", k, v]).catch(() => {
            throw new Error(`pulumi config set ${k} failed`);
        });
    }
    const args = ["up", "--yes", "--skip-preview", "--stack", stack, ...(plan.parallel ? ["--parallel", String(plan.parallel)] : [])];
    const secrets = VAULTS[plan.vault];
    const first = await timedUp(options, args, emulator, plan.vault, stack);
    // Every secret, the VaultBackup and the stack.
    if (first.counts.created !== secrets + 2 || first.backups !== secrets) {
        throw new Error(`${cliPlanLabel(plan)}: the first up created ${first.counts.created} resources and took ${first.backups} backups (expected ${secrets + 2} and ${secrets})`);
    }
    const second = await timedUp(options, [...args, "--expect-no-changes"], emulator, plan.vault, stack);
    if (second.counts.unchanged !== secrets + 2 || second.backups !== 0) {
        throw new Error(`${cliPlanLabel(plan)}: the second up left ${second.counts.unchanged} unchanged and took ${second.backups} backups (expected ${secrets + 2} and 0)`);
    }
    return { plan, secrets, first, second };
}

/** One `pulumi up` under the wrapper, with its process tree sampled; rejects when it fails. */
async function timedUp(options: PulumiCliOptions, args: string[], emulator: EmulatorProcess, vault: BenchVault, stack: string): Promise<CliUpRun> {
    await emulator.setThrottle({ ...VAULT_LIMIT, creations: 300 }); // restarts the windows: earlier runs do not count
    const resultFile = path.join(scratchDir, `cli-up-${process.pid}-${Date.now()}.json`);
    const argv = ["-c", WRAPPER, resultFile, options.cli.bin, ...args, "--non-interactive", "--color", "never"];
    const since = Date.now();
    const child = spawn("python3", argv, { cwd: options.projectDir, env: pulumiEnv(options), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const sampler = new TreeSampler(resultFile + ".pid");
    const timer = setInterval(() => sampler.sample(), SAMPLE_MS);
    const code = await new Promise<number>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (c) => resolve(c ?? -1));
    }).finally(() => clearInterval(timer));
    if (code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${code}):\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`);
    const w = JSON.parse(fs.readFileSync(resultFile, "utf8")) as { wallMs: number; utime: number; stime: number; cutime: number; cstime: number; ruUser: number; ruSystem: number };
    const requests = (await emulator.requests()).filter((r) => r.vault === vault && r.time >= since);
    const checkpoint = path.join(options.backendDir, ".pulumi", "stacks", PROJECT, `${stack}.json`);
    return {
        wallMs: round(w.wallMs, 0),
        engineCpuMs: round(w.utime + w.stime, 0),
        engineUserMs: round(w.utime, 0),
        engineSystemMs: round(w.stime, 0),
        waitedChildrenCpuMs: round(w.cutime + w.cstime, 0),
        rusageCpuMs: round(w.ruUser + w.ruSystem, 0),
        sampledChildrenCpuMs: sampler.byKind(),
        enginePeakMemoryMiB: sampler.enginePeakMiB,
        counts: summaryCounts(stdout),
        backups: requests.filter((r) => r.operation === "backup" && r.status === 200).length,
        throttled429: requests.filter((r) => r.status === 429).length,
        checkpointBytes: fs.existsSync(checkpoint) ? fs.statSync(checkpoint).size : -1,
    };
}

/**
 * Samples the CLI's process tree from /proc: the engine's VmHWM, and each descendant's CPU
 * (utime+stime) at its last sample, keyed by what it is (language host, program, provider host).
 */
class TreeSampler {
    enginePeakMiB = 0;
    private pid = 0;
    private readonly last = new Map<number, { kind: string; cpuMs: number }>();

    constructor(private readonly pidFile: string) {}

    sample(): void {
        try {
            if (!this.pid) this.pid = Number(fs.readFileSync(this.pidFile, "utf8"));
            const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
            const hwm = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
            if (hwm) this.enginePeakMiB = Math.max(this.enginePeakMiB, round(Number(hwm[1]) / 1024, 1));
            for (const child of descendants(this.pid)) {
                const cpu = cpuMs(child);
                if (cpu !== undefined) this.last.set(child, { kind: this.last.get(child)?.kind ?? kindOf(child), cpuMs: cpu });
            }
        } catch {
            // Not started yet, or exited between readings: the next sample (or none) counts.
        }
    }

    /** CPU per kind of descendant, summed over processes, ms. */
    byKind(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const { kind, cpuMs } of this.last.values()) out[kind] = (out[kind] ?? 0) + cpuMs;
        return out;
    }
}

function descendants(pid: number): number[] {
    const out: number[] = [];
    const visit = (p: number): void => {
        let text = "";
        try {
            for (const task of fs.readdirSync(`/proc/${p}/task`)) text += fs.readFileSync(`/proc/${p}/task/${task}/children`, "utf8") + " ";
        } catch {
            return;
        }
        for (const c of text.split(/\s+/).filter(Boolean).map(Number)) {
            out.push(c);
            visit(c);
        }
    };
    visit(pid);
    return out;
}

function cpuMs(pid: number): number | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
        return undefined;
    }
}

function kindOf(pid: number): string {
    let cmd = "";
    try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
        return "other";
    }
    if (cmd.includes("pulumi-language-nodejs")) return "language host";
    if (cmd.includes("dynamic-provider") || cmd.includes("pulumi-resource-pulumi-nodejs")) return "provider host";
    if (/@pulumi\/pulumi\/cmd\/run|vault-backup-program/.test(cmd)) return "program";
    return "other";
}

/** Resource counts from the CLI's summary ("Resources:\n    + 1 created\n    2 unchanged"). */
export function summaryCounts(output: string): Record<string, number> {
    const counts: Record<string, number> = {};
    const block = output.slice(output.lastIndexOf("Resources:"));
    for (const m of block.matchAll(/^\s+(?:[+~\-]+\s+)?(\d+) (created|updated|deleted|replaced|unchanged|errored)\b/gm)) counts[m[2]] = Number(m[1]);
    return counts;
}
