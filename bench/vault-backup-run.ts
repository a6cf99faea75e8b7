/**
 * A `VaultBackup` of a whole vault through the harness (`scripts/harness/engine.ts`: the program
 * under Pulumi's own program runner, every backup through the real dynamic-provider host), timed
 * from the start of `up` to the last Backup Secret the vault answered, split into the part before
 * the first backup (program start, listing the vault, registering the resources, host start) and
 * the backing up; for a small and a large vault, to see how the total grows.
 */
import type { RunningEmulator } from "../emulator";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalEngine } from "../scripts/harness/engine";
import { azureNativeConfig } from "../scripts/emulator-identity";
import { BULK_LATENCY_MS } from "./bulk";
import { freshFolder, hostEnv, repoRoot, PROJECT, VAULTS, type BenchVault } from "./setup";
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

/** `vault-backup-program.ts` as a program in a user's project, where the package is installed. */
const INSTALLED_PROGRAM = `const pulumi = require("@pulumi/pulumi");
const { VaultBackup } = require("pulumi-keyvault-backup");
const config = new pulumi.Config();
const backup = new VaultBackup("vault", { vaultUrl: config.require("vaultUrl"), destination: config.require("destination"), kinds: ["secret"] });
exports.count = backup.secretNames.apply((names) => names.length);
`;

/**
 * `up` of a `VaultBackup` of each vault (secrets only: the bench vaults hold no keys or
 * certificates), +20 ms per call; in `installedProject` (where the packed package is installed)
 * when given, else from this checkout.
 */
export async function measureVaultBackup(emulator: RunningEmulator, vaults: BenchVault[] = ["latency", "bulk64"], installedProject?: string): Promise<VaultBackupResult> {
    if (installedProject) fs.writeFileSync(path.join(installedProject, "vault-backup-program.js"), INSTALLED_PROGRAM);
    emulator.faults.setLatency(BULK_LATENCY_MS);
    const runs: VaultBackupRun[] = [];
    // The program lists the vault in this process, signing in as the host does: through the emulator's Entra stand-in.
    const savedAuthority = process.env.AZURE_AUTHORITY_HOST;
    process.env.AZURE_AUTHORITY_HOST = emulator.authorityHost;
    try {
        for (const vault of vaults) {
            const folder = freshFolder(`vault-backup-${vault}`);
            const engine = new LocalEngine({
                projectRoot: installedProject ?? repoRoot,
                project: PROJECT,
                stack: `vault-backup-${vault}`,
                // In its own process, as the language host runs it: inline, registering 1,016
                // resources kept this process too busy to see the host's port line in time.
                program: installedProject ? "vault-backup-program.js" : path.join("dist", "bench", "vault-backup-program.js"),
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
        if (savedAuthority === undefined) delete process.env.AZURE_AUTHORITY_HOST;
        else process.env.AZURE_AUTHORITY_HOST = savedAuthority;
    }
    const [small, large] = runs;
    return { runs, growthOverLinear: round(large.totalMs / small.totalMs / (large.secrets / small.secrets), 2) };
}
