/** What a restore must bring back, read through the real SDK: every version, its value and attributes. */
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";

/** One version as a user would compare it after a restore. */
export interface VersionSnapshot {
    version: string;
    /** The value; undefined for a disabled version (Key Vault refuses to read those). */
    value: string | undefined;
    enabled: boolean | undefined;
    contentType: string | undefined;
    tags: Record<string, string> | undefined;
    createdOn: number | undefined;
}

/** Every version of `name`, sorted by version id. */
export async function snapshotSecret(client: SecretClient, name: string): Promise<VersionSnapshot[]> {
    const out: VersionSnapshot[] = [];
    for await (const p of client.listPropertiesOfSecretVersions(name)) {
        const value = p.enabled === false ? undefined : (await client.getSecret(name, { version: p.version })).value;
        out.push({
            version: p.version!,
            value,
            enabled: p.enabled,
            contentType: p.contentType,
            tags: p.tags && Object.keys(p.tags).length ? p.tags : undefined,
            createdOn: p.createdOn?.getTime(),
        });
    }
    return out.sort((a, b) => a.version.localeCompare(b.version));
}

/** Deletes `name` and purges it, so that the name is free for a restore. */
export async function deleteAndPurge(client: SecretClient, name: string): Promise<void> {
    const poller = await client.beginDeleteSecret(name, { intervalInMs: 10 });
    await poller.pollUntilDone();
    await client.purgeDeletedSecret(name);
}

/** The environment a `secret-backup` child process needs to sign in to the emulator as principal `i`. */
export function emulatorEnv(emulator: RunningEmulator, i = 0): NodeJS.ProcessEnv {
    const p = emulator.principals[i];
    return {
        AZURE_CLIENT_ID: p.clientId,
        AZURE_CLIENT_SECRET: p.clientSecret,
        AZURE_TENANT_ID: emulator.tenantId,
        AZURE_AUTHORITY_HOST: emulator.authorityHost,
    };
}
