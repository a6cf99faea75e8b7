/**
 * Proves the backups good the only way that counts: restore the whole vault from the backup
 * folder alone (`restoreVault`, as `secret-backup restore --all` does) into a fresh vault (a
 * second emulator sharing the backup key, as vaults in one geography share theirs) and compare
 * every secret version's id and value with the source vault (values are compared, never printed);
 * the certificate's versions (x5t thumbprint, DER bytes) and the key's versions (public part) too,
 * and both keys sign in the fresh vault with signatures that verify with the original public part.
 */
import { X509Certificate } from "node:crypto";
import { createHash } from "node:crypto";
import { SecretClient } from "@azure/keyvault-secrets";
import { KeyClient } from "@azure/keyvault-keys";
import { CertificateClient } from "@azure/keyvault-certificates";
import { startEmulator, type RunningEmulator } from "../../emulator";
import type { CaFiles } from "../../emulator/tls";
import { restoreVault, type RestoreVaultResult } from "../../provider/recovery/restore-vault";
import { emulatorCredential } from "../emulator-identity";
import { signsAndVerifies, snapshotCertificate, snapshotKey, publicJwkOf } from "../vault-objects";

/** What the restore check found. */
export interface RestoreCheck {
    /** What `restoreVault` reported. */
    result: RestoreVaultResult;
    /** Versions compared, over every secret. */
    versions: number;
}

/** The three clients of one vault. */
export interface VaultClients {
    secrets: SecretClient;
    keys: KeyClient;
    certificates: CertificateClient;
}

/** Clients for a loopback emulator vault as principal 0 (challenge resource verification only relaxed for loopback). */
export function emulatorClients(vaultUrl: string, emulator: RunningEmulator): VaultClients {
    const credential = emulatorCredential(emulator);
    const options = { disableChallengeResourceVerification: true };
    return {
        secrets: new SecretClient(vaultUrl, credential, options),
        keys: new KeyClient(vaultUrl, credential, options),
        certificates: new CertificateClient(vaultUrl, credential, options),
    };
}

/**
 * Restores every object backed up in `folder` from `sourceVaultUrl` into a new vault and compares
 * each named secret, key and certificate with `source`'s (see the module comment); throws naming
 * the first difference, the first object that did not come back, or the key that did not sign.
 */
export async function restoreVaultIntoFreshVault(args: {
    folder: string; sourceVaultUrl: string; secretNames: string[]; keyNames: string[]; certificateNames: string[];
    source: VaultClients; backupKey: string; tls: CaFiles;
}): Promise<RestoreCheck> {
    const fresh = await startEmulator({ vaults: ["restored"], backupKey: args.backupKey, tls: args.tls, throttle: false });
    try {
        const vaultUrl = fresh.vaults.restored;
        const result = await restoreVault({ from: args.folder, vaultUrl, all: true, sourceVault: args.sourceVaultUrl, credential: emulatorCredential(fresh) });
        const failed = result.objects.find((o) => o.outcome !== "restored");
        if (failed) throw new Error(`${failed.name} was not restored: ${failed.why}`);
        const restored = emulatorClients(vaultUrl, fresh);
        let versions = 0;
        for (const name of args.secretNames) {
            const before = await versionDigests(args.source.secrets, name);
            const after = await versionDigests(restored.secrets, name);
            if (JSON.stringify([...before.keys()].sort()) !== JSON.stringify([...after.keys()].sort())) {
                throw new Error(`restored versions of "${name}" [${[...after.keys()]}] differ from the source's [${[...before.keys()]}]`);
            }
            for (const [version, digest] of before) {
                if (after.get(version) !== digest) throw new Error(`version ${version} of "${name}" has a different value after restore`);
            }
            versions += before.size;
        }
        const signs = (keyId: string, publicJwk: ReturnType<typeof publicJwkOf>, what: string) =>
            signsAndVerifies(keyId, emulatorCredential(fresh), publicJwk, Buffer.from(`restore check: ${what}`), { disableChallengeResourceVerification: true });
        for (const name of args.keyNames) {
            if (JSON.stringify(await snapshotKey(restored.keys, name)) !== JSON.stringify(await snapshotKey(args.source.keys, name))) {
                throw new Error(`key "${name}": the restored versions or public parts differ from the source's`);
            }
            const restoredKey = await restored.keys.getKey(name);
            const original = await args.source.keys.getKey(name, { version: restoredKey.properties.version });
            if (!(await signs(restoredKey.id!, publicJwkOf(original), `key ${name}`))) {
                throw new Error(`key "${name}": the restored key's signature does not verify with the original public part`);
            }
        }
        for (const name of args.certificateNames) {
            if (JSON.stringify(await snapshotCertificate(restored.certificates, name)) !== JSON.stringify(await snapshotCertificate(args.source.certificates, name))) {
                throw new Error(`certificate "${name}": the restored versions' thumbprints (x5t) or DER bytes differ from the source's`);
            }
            const restoredCertificate = await restored.certificates.getCertificate(name);
            const original = await args.source.certificates.getCertificateVersion(name, restoredCertificate.properties.version!);
            const originalPublic = new X509Certificate(Buffer.from(original.cer!)).publicKey.export({ format: "jwk" });
            if (!(await signs(restoredCertificate.keyId!, originalPublic, `certificate ${name}`))) {
                throw new Error(`certificate "${name}": the restored certificate's key signs, but the signature does not verify with the original certificate's public key`);
            }
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
