/**
 * Proves the backups good the only way that counts: restore the whole vault from the backup
 * folder alone (`restoreVault`, as `secret-backup restore --all` does) into a fresh vault (a
 * second emulator sharing the backup key, as vaults in one geography share theirs) and compare
 * every version's id and value with the source vault. Values are compared, never printed.
 */
import { createHash } from "node:crypto";
import { SecretClient } from "@azure/keyvault-secrets";
import { startEmulator, type RunningEmulator } from "../../emulator";
import type { CaFiles } from "../../emulator/tls";
import { restoreVault, type RestoreVaultResult } from "../../provider/recovery/restore-vault";
import { emulatorCredential } from "../emulator-identity";

/** What the restore check found. */
export interface RestoreCheck {
    /** What `restoreVault` reported. */
    result: RestoreVaultResult;
    /** Versions compared, over every secret. */
    versions: number;
}

/** A client for a loopback emulator vault (challenge resource verification only relaxed for loopback). */
export function emulatorClient(vaultUrl: string, emulator: RunningEmulator): SecretClient {
    return new SecretClient(vaultUrl, emulatorCredential(emulator), { disableChallengeResourceVerification: true });
}

/**
 * Restores every secret backed up in `folder` from `sourceVaultUrl` into a new vault and compares
 * each with `source`'s; throws naming the first difference or the first secret that did not come back.
 */
export async function restoreVaultIntoFreshVault(args: {
    folder: string; sourceVaultUrl: string; secretNames: string[]; source: SecretClient; backupKey: string; tls: CaFiles;
}): Promise<RestoreCheck> {
    const fresh = await startEmulator({ vaults: ["restored"], backupKey: args.backupKey, tls: args.tls, throttle: false });
    try {
        const vaultUrl = fresh.vaults.restored;
        const result = await restoreVault({ from: args.folder, vaultUrl, all: true, sourceVault: args.sourceVaultUrl, credential: emulatorCredential(fresh) });
        const failed = result.objects.find((o) => o.outcome !== "restored");
        if (failed) throw new Error(`${failed.name} was not restored: ${failed.why}`);
        const restoredClient = emulatorClient(vaultUrl, fresh);
        let versions = 0;
        for (const name of args.secretNames) {
            const before = await versionDigests(args.source, name);
            const after = await versionDigests(restoredClient, name);
            if (JSON.stringify([...before.keys()].sort()) !== JSON.stringify([...after.keys()].sort())) {
                throw new Error(`restored versions of "${name}" [${[...after.keys()]}] differ from the source's [${[...before.keys()]}]`);
            }
            for (const [version, digest] of before) {
                if (after.get(version) !== digest) throw new Error(`version ${version} of "${name}" has a different value after restore`);
            }
            versions += before.size;
        }
        return { result, versions };
    } finally {
        await fresh.close();
    }
}

/** version -> sha256 of its value, for every version of the secret. */
async function versionDigests(client: SecretClient, name: string): Promise<Map<string, string>> {
    const digests = new Map<string, string>();
    for await (const props of client.listPropertiesOfSecretVersions(name)) {
        const secret = await client.getSecret(name, { version: props.version });
        digests.set(String(props.version), createHash("sha256").update(secret.value ?? "").digest("hex"));
    }
    return digests;
}
