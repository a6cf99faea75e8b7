/**
 * Restore 1,000 objects: a folder of 1,000 secret backups restored whole into an empty vault with
 * `restoreVault` (what `secret-backup restore --all` runs), against an emulator enforcing Key
 * Vault's limits (300 creations per 10 s per vault: a restore is a creation) and answering every
 * call 20 ms late. Its own emulator, so the other phases' vaults stay as they are.
 */
import { SecretClient } from "@azure/keyvault-secrets";
import { SERVICE_LIMITS } from "../emulator/faults";
import { startEmulator } from "../emulator";
import { FileDestination } from "../provider/destinations/file";
import { sha256Hex } from "../provider/destinations/destination";
import { restoreVault, DEFAULT_RESTORES_PER_10_SECONDS } from "../provider/recovery/restore-vault";
import { inParallel } from "../provider/recovery/list";
import { emulatorCredential } from "../scripts/emulator-identity";
import { benchCa, freshFolder, secretNames } from "./setup";
import { BULK_LATENCY_MS, busiestWindow } from "./bulk";
import type { Figure } from "./report";
import { round } from "./stats";

/** How many objects the phase restores. */
export const RESTORE_OBJECTS = 1000;

/** The figures of the restore phase. */
export interface RestoreBenchResult {
    objects: number;
    restored: number;
    failed: number;
    elapsedMs: number;
    objectsPerSecond: number;
    /** Objects per second over the vault's creation limit per second (30). */
    shareOfVaultLimit: number;
    /** Restore requests the limit counted in the busiest 10 s window. */
    busiestWindow: number;
    throttled429: number;
    pacingPer10Seconds: number;
    /** Unmeasured: backing the 1,000 up into the folder first. */
    setupMs: number;
}

/** Seeds 1,000 secrets, backs each up to a folder (unmeasured), then measures `restoreVault` of the folder into an empty vault. */
export async function measureRestore(): Promise<RestoreBenchResult> {
    const names = secretNames(0, RESTORE_OBJECTS);
    const secrets = Object.fromEntries(names.map((n, i) => [n, `restore-bench-value-${i}`]));
    const emulator = await startEmulator({ seed: { vaults: { "restore-source": { secrets }, "restore-target": {} } }, tls: await benchCa(), throttle: SERVICE_LIMITS });
    try {
        const setupStart = Date.now();
        const credential = emulatorCredential(emulator);
        const sourceUrl = emulator.vaults["restore-source"];
        const source = new SecretClient(sourceUrl, credential, { disableChallengeResourceVerification: true });
        const folder = freshFolder("restore-1000");
        const destination = new FileDestination(folder);
        await inParallel(names, 16, async (name) => {
            const blob = (await source.backupSecret(name))!;
            await destination.write(blob, { vaultUrl: sourceUrl, secretName: name, backedUpAt: new Date().toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length });
        });
        const setupMs = Date.now() - setupStart;

        emulator.faults.setLatency(BULK_LATENCY_MS);
        emulator.faults.setThrottle(SERVICE_LIMITS); // restarts the windows: the backups above do not count
        const started = Date.now();
        const result = await restoreVault({ from: folder, vaultUrl: emulator.vaults["restore-target"], all: true, credential });
        const elapsedMs = Date.now() - started;
        const log = emulator.requests().filter((r) => r.vault === "restore-target" && r.operation === "restore" && r.time >= started);
        const rate = (result.counts.restored / elapsedMs) * 1000;
        const perSecond = SERVICE_LIMITS.creations / (SERVICE_LIMITS.windowMs / 1000);
        return {
            objects: RESTORE_OBJECTS,
            restored: result.counts.restored,
            failed: result.counts.failed,
            elapsedMs,
            objectsPerSecond: round(rate, 1),
            shareOfVaultLimit: round(rate / perSecond, 3),
            busiestWindow: busiestWindow(log.filter((r) => r.status !== 401 && r.status !== 429).map((r) => r.time), SERVICE_LIMITS.windowMs),
            throttled429: log.filter((r) => r.status === 429).length,
            pacingPer10Seconds: DEFAULT_RESTORES_PER_10_SECONDS,
            setupMs,
        };
    } finally {
        await emulator.close();
    }
}

/** The phase's rows for the bench table. */
export function restoreFigures(r: RestoreBenchResult): Figure[] {
    const how = `restoreVault (secret-backup restore --all) of a folder of ${r.objects} secret backups into an empty vault; emulator limit ${SERVICE_LIMITS.creations} creations/${SERVICE_LIMITS.windowMs / 1000} s per vault, +${BULK_LATENCY_MS} ms per call; default pacing ${r.pacingPer10Seconds}/10 s, 8 in flight`;
    return [
        { name: `restore ${r.objects} objects: objects per second`, value: r.objectsPerSecond, unit: "/s", method: `${how}; ${r.elapsedMs} ms from the call to its answer (listing the folder and the vault, verifying each backup, restoring)` },
        { name: `restore ${r.objects} objects: share of the vault's limit`, value: round(r.shareOfVaultLimit * 100, 1), unit: "%", method: `objects per second / ${SERVICE_LIMITS.creations / (SERVICE_LIMITS.windowMs / 1000)} (restore is a creation: ${SERVICE_LIMITS.creations} per ${SERVICE_LIMITS.windowMs / 1000} s); busiest ${SERVICE_LIMITS.windowMs / 1000} s window ${r.busiestWindow} of ${SERVICE_LIMITS.creations}` },
        { name: `restore ${r.objects} objects: 429s received`, value: r.throttled429, unit: "", method: "status 429 answers to restores in the emulator's request log" },
        { name: `restore ${r.objects} objects: not restored`, value: r.objects - r.restored, unit: "", method: `objects restoreVault reported skipped or failed (${r.failed} failed)` },
    ];
}
