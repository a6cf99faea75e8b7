/**
 * Bulk: many new `SecretBackup`s in one host (one `pulumi up`) with N operations in flight,
 * against a vault that enforces a request limit and answers every call 20 ms late (or the plan's
 * latency). The emulator runs in its own process, so its CPU is measured apart from this
 * process's (the engine's side of gRPC). What the vault saw comes from the emulator's request
 * log, the host's and the emulator's peak memory and CPU from /proc.
 */
import { PACING_CONFIG_KEY } from "../provider/operations";
import { asVaultBackupChildren, createAll, manyBackupJobs, startHost, type BackupJob } from "./drive";
import type { EmulatorProcess } from "./emulator-process";
import { freshFolder, secretNames, type BenchVault } from "./setup";
import { commandLine, cpuSpent, cpuSplit, lowerMedian, ownCpuMs, peakMemoryMiB, processCpuMs, residentMemoryMiB, round } from "./stats";
import type { ProviderHost } from "../scripts/harness/host";

/** Backups before the measured ones in the same host (module load, token, connections). */
export const BULK_WARMUP = 16;
/** Latency the emulator adds to every vault call in the bulk runs. */
export const BULK_LATENCY_MS = 20;
/** Key Vault's limit per vault: 4,000 operations per 10 s. */
export const VAULT_LIMIT = { operations: 4000, windowMs: 10_000 };

/** One bulk run: which vault, how many in flight and measured, the vault's limit and the provider's pacing. */
export interface BulkPlan {
    /** How the table names this run. */
    label: string;
    vault: BenchVault;
    parallel: number;
    secrets: number;
    limit: { operations: number; windowMs: number };
    /** `secret-backup:vaultOperationsPer10Seconds` for the host; the provider's default when absent. */
    pacingPer10Seconds?: number;
    /** Latency added to every vault call, ms (default `BULK_LATENCY_MS`). */
    latencyMs?: number;
    /** The folder to write into (default: a fresh empty one named after the run). */
    folder?: string;
    /**
     * True: plain `SecretBackup`s, which list the secret's versions before each backup (two vault
     * calls per backup). Default: as `VaultBackup`'s children, which carry the vault listing's
     * `updated` time as `sourceUpdatedOn` and so skip that listing (one call per backup).
     */
    standalone?: boolean;
    /**
     * Run as a user runs the package: the host started in the project where the packed package is
     * installed, and each resource's `__provider` as a program there registers it. Default: from
     * this checkout (the longer `__provider` of a package that is not under node_modules).
     */
    installed?: InstalledRun;
}

/** Where the package is installed and the `__provider` a program there registers. */
export interface InstalledRun {
    project: string;
    providerText: string;
}

/** The figures of one bulk run. */
export interface BulkResult {
    plan: BulkPlan;
    elapsedMs: number;
    secretsPerSecond: number;
    /**
     * Vault operations per second the limit counts (all but 401 challenges and 429s) in the
     * measured part, over the limit's operations per second. A standalone backup costs two
     * operations (the version listing, then Backup); one as `VaultBackup`'s child costs one.
     */
    shareOfVaultLimit: number;
    /** Vault requests during the measured part (backups, plus any retries). */
    vaultRequests: number;
    /**
     * The most requests the limit counts (all but the SDK's unauthenticated 401 challenge and
     * refused 429s) in any window of the limit's length, over the whole run (warm-up included).
     */
    busiestWindow: number;
    throttled429: number;
    failures: string[];
    hostPeakMemoryMiB: number;
    /** The host's resident memory once started and configured, before the provider is loaded: `@pulumi/pulumi`'s host alone. */
    hostStartMemoryMiB: number;
    hostProcess: string;
    /** CPU per measured backup: the host's, the emulator process's, and this process's (the engine's side of gRPC). */
    cpuMsPerBackup: { host: number; emulator: number; driver: number };
    /**
     * The host's CPU per measured backup by thread (see `cpuSpent`): the main thread; the
     * other threads' user time (V8's helpers: GC, compilation); their system time (libuv's pool: the
     * kernel's side of the file system calls, fsync above all).
     */
    hostCpuMsPerBackupByThread: { main: number; otherUser: number; otherSystem: number };
    /** The host's CPU over the warm-up (module loading, token, connections, the folder's one sweep), ms. */
    warmupHostCpuMs: number;
    /** With `measureBulkRepeated`: every run's host CPU per backup and secrets per second, in the order they ran. */
    repeats?: Array<{ hostCpuMs: number; secretsPerSecond: number }>;
}

/**
 * `measureBulk` `times` times in a row (a new host each time); the run with the median host CPU per
 * backup, with every run's figures in `repeats`. This machine's CPU is shared (steal time), so one
 * run's figures can be off by a fifth; the median of three is steadier.
 */
export async function measureBulkRepeated(emulator: EmulatorProcess, plan: BulkPlan, times: number): Promise<BulkResult> {
    const runs: BulkResult[] = [];
    for (let i = 0; i < times; i++) runs.push(await measureBulk(emulator, plan));
    return { ...medianByHostCpu(runs), repeats: runs.map((r) => ({ hostCpuMs: r.cpuMsPerBackup.host, secretsPerSecond: r.secretsPerSecond })) };
}

/** Of several runs of one plan, the one with the median host CPU per backup (the lower middle of an even number), carrying every run's failures. */
export function medianByHostCpu(runs: BulkResult[]): BulkResult {
    return { ...lowerMedian(runs, (r) => r.cpuMsPerBackup.host), failures: runs.flatMap((r) => r.failures) };
}

/**
 * One run; the vault must hold `BULK_WARMUP + plan.secrets` secrets. `hostEnv` is added to the
 * host's environment; with `profiling`, host and emulator (both started with `cpuProfileEnv`) get
 * SIGUSR2 after the warm-up to start their profilers. Restores the real limit and no latency afterwards.
 */
export async function measureBulk(emulator: EmulatorProcess, plan: BulkPlan, hostEnv: Record<string, string> = {}, profiling = false): Promise<BulkResult> {
    const folder = plan.folder ?? freshFolder(`bulk-${plan.vault}-${plan.parallel}-${plan.secrets}`);
    const plain = await manyBackupJobs(emulator.vaults[plan.vault], secretNames(0, BULK_WARMUP + plan.secrets), folder, plan.vault);
    const shaped = plan.standalone ? plain : await asVaultBackupChildren(emulator, emulator.vaults[plan.vault], plain);
    const jobs = plan.installed ? withProvider(shaped, plan.installed.providerText) : shaped;
    await emulator.setLatency(plan.latencyMs ?? BULK_LATENCY_MS);
    await emulator.setThrottle({ operations: plan.limit.operations, creations: 300, windowMs: plan.limit.windowMs });
    const pacing: Record<string, string> = plan.pacingPer10Seconds ? { [PACING_CONFIG_KEY]: String(plan.pacingPer10Seconds) } : {};
    let host: ProviderHost | undefined;
    try {
        host = await startHost(emulator, plan.installed?.project, pacing, hostEnv);
        const hostStartMemoryMiB = residentMemoryMiB(host.pid);
        const runStart = Date.now();
        const warmupCpuStart = cpuSplit(host.pid);
        const warmup = await createAll(host, jobs.slice(0, BULK_WARMUP), plan.parallel);
        if (profiling) for (const pid of [host.pid, emulator.pid]) process.kill(pid, "SIGUSR2");
        const measuredStart = Date.now();
        const cpuBefore = { host: cpuSplit(host.pid), emulator: processCpuMs(emulator.pid), own: ownCpuMs() };
        const warmupHostCpuMs = cpuSpent(warmupCpuStart, cpuBefore.host).total;
        const batch = await createAll(host, jobs.slice(BULK_WARMUP), plan.parallel);
        const hostCpu = cpuSpent(cpuBefore.host, cpuSplit(host.pid));
        const cpu = { host: hostCpu.total, emulator: processCpuMs(emulator.pid) - cpuBefore.emulator, own: ownCpuMs() - cpuBefore.own };
        const log = (await emulator.requests()).filter((r) => r.vault === plan.vault && r.time >= runStart);
        const rate = (batch.durationsMs.length / batch.elapsedMs) * 1000;
        const counted = log.filter((r) => r.time >= measuredStart && r.status !== 401 && r.status !== 429);
        return {
            plan,
            elapsedMs: round(batch.elapsedMs, 0),
            secretsPerSecond: round(rate, 1),
            shareOfVaultLimit: round(((counted.length / batch.elapsedMs) * 1000) / (plan.limit.operations / (plan.limit.windowMs / 1000)), 3),
            vaultRequests: log.filter((r) => r.time >= measuredStart).length,
            busiestWindow: busiestWindow(log.filter((r) => r.status !== 401 && r.status !== 429).map((r) => r.time), plan.limit.windowMs),
            throttled429: log.filter((r) => r.status === 429).length,
            failures: [...warmup.failures, ...batch.failures],
            hostPeakMemoryMiB: peakMemoryMiB(host.pid),
            hostStartMemoryMiB,
            hostProcess: `pid ${host.pid}: ${commandLine(host.pid)}`,
            warmupHostCpuMs,
            cpuMsPerBackup: { host: round(cpu.host / plan.secrets, 2), emulator: round(cpu.emulator / plan.secrets, 2), driver: round(cpu.own / plan.secrets, 2) },
            hostCpuMsPerBackupByThread: {
                main: round(hostCpu.main / plan.secrets, 2),
                otherUser: round(hostCpu.otherUser / plan.secrets, 2),
                otherSystem: round(hostCpu.otherSystem / plan.secrets, 2),
            },
        };
    } finally {
        await host?.stop();
        await emulator.setThrottle({ ...VAULT_LIMIT, creations: 300 });
        await emulator.setLatency(0);
    }
}

/** `jobs` with `__provider` replaced by `providerText` (every other input is the same code's). */
export function withProvider(jobs: BackupJob[], providerText: string): BackupJob[] {
    return jobs.map((job) => ({ ...job, inputs: { ...job.inputs, __provider: providerText } }));
}

/** The largest number of `times` (ms, ascending) inside any window of `windowMs`. */
export function busiestWindow(times: number[], windowMs: number): number {
    let best = 0;
    for (let lo = 0, hi = 0; hi < times.length; hi++) {
        while (times[hi] - times[lo] >= windowMs) lo++;
        best = Math.max(best, hi - lo + 1);
    }
    return best;
}
