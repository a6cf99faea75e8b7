/**
 * A `VaultBackup` of a whole vault through the harness (`scripts/harness/engine.ts`: the program
 * under Pulumi's own program runner, every backup through the real dynamic-provider host), timed
 * from the start of `up` to the last Backup Secret the vault answered, split into the part before
 * the first backup (program start, listing the vault, registering the resources, host start) and
 * the backing up; for a small and a large vault, to see how the total grows.
 */
import type { RunningEmulator } from "../emulator";
import * as path from "node:path";
import { LocalEngine } from "../scripts/harness/engine";
import { azureNativeConfig } from "../scripts/emulator-identity";
import { BULK_LATENCY_MS } from "./bulk";
import { freshFolder, hostEnv, PROJECT, VAULTS, type BenchVault } from "./setup";
import { round } from "./stats";

/** One `up` of one vault. */
export interface VaultBackupRun {
    vault: BenchVault;
    secrets: number;
    totalMs: number;
    /** From `up` to the vault's first answered Backup Secret. */
    beforeFirstBackupMs: number;
    /** From the first answered Backup Secret to the last. */
    backingUpMs: number;
    failures: number;
}

/** The two runs and how the total grows with the vault (1 = linear). */
export interface VaultBackupResult {
    runs: VaultBackupRun[];
    /** (large total / small total) / (large secrets / small secrets). */
    growthOverLinear: number;
    /** Why the phase failed, when it did. */
    error?: string;
}

/**
 * `up` of a `VaultBackup` of each vault (secrets only: the bench vaults hold no keys or
 * certificates), +20 ms per call, by `vault-backup-program.ts` in `installedProject` (where the
 * packed package is installed).
 */
export async function measureVaultBackup(emulator: RunningEmulator, installedProject: string, vaults: BenchVault[] = ["latency", "bulk64"]): Promise<VaultBackupResult> {
    emulator.faults.setLatency(BULK_LATENCY_MS);
    const runs: VaultBackupRun[] = [];
    try {
        for (const vault of vaults) {
            const folder = freshFolder(`vault-backup-${vault}`);
            const engine = new LocalEngine({
                projectRoot: installedProject,
                project: PROJECT,
                stack: `vault-backup-${vault}`,
                // In its own process, as the language host runs it (it gets the emulator's authority
                // through `env`): inline, registering 1,016 resources kept this process too busy to
                // see the host's port line in time.
                program: path.join(__dirname, "vault-backup-program.js"),
                config: azureNativeConfig(emulator, 0, { [`${PROJECT}:vaultUrl`]: emulator.vaults[vault], [`${PROJECT}:destination`]: folder }),
                secretKeys: ["azure-native:clientSecret"],
                env: hostEnv(emulator),
            });
            const start = Date.now();
            const up = await engine.up();
            const backups = emulator.requests().filter((r) => r.vault === vault && r.operation === "backup" && r.status === 200 && r.time >= start).map((r) => r.time);
            if (up.error || backups.length === 0) throw new Error(`VaultBackup of vault ${vault} failed: ${up.error ?? "no backup taken"}`);
            const first = Math.min(...backups);
            const last = Math.max(...backups);
            runs.push({
                vault,
                secrets: VAULTS[vault],
                totalMs: last - start,
                beforeFirstBackupMs: first - start,
                backingUpMs: last - first,
                failures: VAULTS[vault] - backups.length,
            });
        }
    } finally {
        emulator.faults.setLatency(0);
    }
    const [small, large] = runs;
    return { runs, growthOverLinear: round(large.totalMs / small.totalMs / (large.secrets / small.secrets), 2) };
}
