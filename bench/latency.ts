/**
 * Latency through the provider host: from spawning the host to the first finished backup (cold:
 * process start, SDK load, token, TLS), then warm backups one at a time.
 */
import type { RunningEmulator } from "../emulator";
import { asVaultBackupChildren, createAll, manyBackupJobs, startHost, type BatchResult } from "./drive";
import { freshFolder, secretNames } from "./setup";
import { percentile, round, since } from "./stats";
import type { ProviderHost } from "../scripts/harness/host";

/** Warm-up backups after the first, not measured. */
export const LATENCY_WARMUP = 20;
/** Warm backups measured one at a time. */
export const LATENCY_SAMPLES = 238;

/** Warm round trips, one at a time. */
export interface WarmLatency {
    samples: number;
    medianMs: number;
    p95Ms: number;
    minMs: number;
    maxMs: number;
}

/** The latency figures. */
export interface LatencyResult {
    coldStartToFirstBackupMs: number;
    /** Where the cold time went: host spawned, printed its port and took Configure; first Check (loads the provider's modules); first Create (token, TLS, backup, file). */
    coldSteps: { hostReadyMs: number; firstCheckMs: number; firstCreateMs: number };
    /** Standalone `SecretBackup`s: the version listing, then Backup Secret. */
    warm: WarmLatency;
    /** The same secrets again as `VaultBackup`'s children (`sourceUpdatedOn` given): Backup Secret only. */
    warmChildren: WarmLatency;
    failures: string[];
}

/** Measures on vault `latency` (no added latency: the provider's and host's own cost). */
export async function measureLatency(emulator: RunningEmulator): Promise<LatencyResult> {
    emulator.faults.setLatency(0);
    const folder = freshFolder("latency");
    const names = secretNames(0, 1 + LATENCY_WARMUP + LATENCY_SAMPLES);
    const jobs = await manyBackupJobs(emulator.vaults.latency, names, folder, "latency");
    const start = performance.now();
    let host: ProviderHost | undefined;
    try {
        host = await startHost(emulator);
        const hostReadyMs = since(start);
        const checked = await host.check(jobs[0].urn, {}, jobs[0].inputs);
        const firstCheckMs = round(since(start) - hostReadyMs, 2);
        if (checked.failures.length) throw new Error(`check of the first backup failed: ${JSON.stringify(checked.failures)}`);
        await host.create(jobs[0].urn, checked.inputs);
        const coldStartToFirstBackupMs = since(start);
        const coldSteps = { hostReadyMs, firstCheckMs, firstCreateMs: round(coldStartToFirstBackupMs - hostReadyMs - firstCheckMs, 2) };
        const warmup = await createAll(host, jobs.slice(1, 1 + LATENCY_WARMUP), 1);
        const timed = await createAll(host, jobs.slice(1 + LATENCY_WARMUP), 1);
        // The same secrets as VaultBackup registers them (a new backup of each, to a new file).
        const children = await asVaultBackupChildren(emulator, emulator.vaults.latency, jobs.slice(1 + LATENCY_WARMUP));
        const timedChildren = await createAll(host, children, 1);
        return {
            coldStartToFirstBackupMs,
            coldSteps,
            warm: warmFigures(timed),
            warmChildren: warmFigures(timedChildren),
            failures: [...warmup.failures, ...timed.failures, ...timedChildren.failures],
        };
    } finally {
        await host?.stop();
    }
}

function warmFigures(batch: BatchResult): WarmLatency {
    const d = batch.durationsMs;
    return {
        samples: d.length,
        medianMs: round(percentile(d, 50), 2),
        p95Ms: round(percentile(d, 95), 2),
        minMs: round(Math.min(...d), 2),
        maxMs: round(Math.max(...d), 2),
    };
}
