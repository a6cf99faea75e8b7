/**
 * Proves a backup good the only way that counts: restore it into a fresh vault (a second emulator
 * sharing the backup key, as vaults in one geography share theirs) and compare every version's id
 * and value with the source vault. Values are compared, never printed.
 */
import { createHash } from "node:crypto";
import { SecretClient } from "@azure/keyvault-secrets";
import { startEmulator, type RunningEmulator } from "../../emulator";
import type { CaFiles } from "../../emulator/tls";
import { restoreBackup } from "../../provider/restore";
import { emulatorCredential } from "../emulator-identity";

/** What the restore check found. */
export interface RestoreCheck {
    versions: number;
    restoredId: string;
}

/** A client for a loopback emulator vault (challenge resource verification only relaxed for loopback). */
export function emulatorClient(vaultUrl: string, emulator: RunningEmulator): SecretClient {
    return new SecretClient(vaultUrl, emulatorCredential(emulator), { disableChallengeResourceVerification: true });
}

/**
 * Restores the backup at `location` into a new vault and compares it with `source`'s secret;
 * throws naming the first difference.
 */
export async function restoreIntoFreshVault(args: {
    location: string; sha256: string; secretName: string; source: SecretClient; backupKey: string; tls: CaFiles;
}): Promise<RestoreCheck> {
    const fresh = await startEmulator({ vaults: ["restored"], backupKey: args.backupKey, tls: args.tls, throttle: false });
    try {
        const vaultUrl = fresh.vaults.restored;
        const restored = await restoreBackup({ from: args.location, sha256: args.sha256, vaultUrl, credential: emulatorCredential(fresh) });
        const before = await versionDigests(args.source, args.secretName);
        const after = await versionDigests(emulatorClient(vaultUrl, fresh), args.secretName);
        if (JSON.stringify([...before.keys()].sort()) !== JSON.stringify([...after.keys()].sort())) {
            throw new Error(`restored versions [${[...after.keys()]}] differ from the source's [${[...before.keys()]}]`);
        }
        for (const [version, digest] of before) {
            if (after.get(version) !== digest) throw new Error(`version ${version} of "${args.secretName}" has a different value after restore`);
        }
        return { versions: before.size, restoredId: restored.id };
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
