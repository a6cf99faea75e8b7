/**
 * Listing a vault's secrets for `VaultBackup`, in the program (not the provider host): the real
 * `SecretClient.listPropertiesOfSecrets` (List Secrets, needs the `list` secret permission),
 * with the provider's credential rules and error messages.
 */
import { SecretClient } from "@azure/keyvault-secrets";
import type { TokenCredential } from "@azure/identity";
import { createCredential, credentialSettings, type ConfigSource } from "./credentials";
import { VaultError, factsFromError, type VaultErrorFacts } from "./errors";
import { DEFAULT_THROTTLE_BACKOFF_MS, relaxChallengeVerification, retryWhileThrottled } from "./vault-client";
import type { ApiVersion } from "./validate";

/** One listed secret: only what decides whether it is backed up. Never a value. */
export interface ListedSecret {
    name: string;
    /** False when the current version is disabled (VaultBackup skips those unless told otherwise). */
    enabled: boolean;
}

/**
 * The vault's secrets (not the deleted ones), sorted by name. A 429 (Key Vault sends no
 * Retry-After, so the SDK does not retry it) restarts the listing after 1, 2, 4, 8, 16 s. Throws
 * `VaultError` (operation `list`) with Key Vault's facts and what to do, e.g. for a 403 without
 * the `list` permission.
 */
export async function listVaultSecrets(
    vaultUrl: string,
    apiVersion: ApiVersion,
    credential: TokenCredential,
    backoffMs: number[] = DEFAULT_THROTTLE_BACKOFF_MS,
): Promise<ListedSecret[]> {
    const client = new SecretClient(vaultUrl, credential, {
        serviceVersion: apiVersion,
        disableChallengeResourceVerification: relaxChallengeVerification(vaultUrl),
    });
    const context = { operation: "list", vaultUrl, secretName: "*" };
    const listing = async (): Promise<ListedSecret[]> => {
        const result = await listOnce(client);
        if (!result.ok) throw new VaultError(context, result.facts);
        return result.secrets;
    };
    const statusOf = (e: unknown) => (e instanceof VaultError ? e.facts.status : undefined);
    try {
        const secrets = await retryWhileThrottled(listing, backoffMs, { statusOf });
        return secrets.sort((a, b) => a.name.localeCompare(b.name));
    } catch (e) {
        if (e instanceof VaultError && e.facts.status === 429) throw new VaultError(context, { ...e.facts, throttledBackoffMs: backoffMs });
        throw e;
    }
}

type RawResponse = { status: number; bodyAsText?: string | null; headers: { get(name: string): string | undefined } };

/** One pass over every page; on failure, the facts, read from the failed page's body because the SDK's pager drops it. */
async function listOnce(client: SecretClient): Promise<{ ok: true; secrets: ListedSecret[] } | { ok: false; facts: VaultErrorFacts }> {
    let last: RawResponse | undefined;
    const out: ListedSecret[] = [];
    try {
        for await (const p of client.listPropertiesOfSecrets({ onResponse: (r) => void (last = r) })) {
            out.push({ name: p.name, enabled: p.enabled !== false });
        }
        return { ok: true, secrets: out };
    } catch (e) {
        const facts = factsFromError(e);
        const fromBody = last && last.status === facts.status ? factsFromError({ statusCode: last.status, response: last }) : {};
        const defined = Object.fromEntries(Object.entries(fromBody).filter(([, v]) => v !== undefined));
        return { ok: false, facts: { ...facts, ...defined } };
    }
}

/**
 * The credential a program lists with: the stack's `azure-native:*` config, else the environment,
 * as the provider host does (see `credentials.ts`).
 */
export function programCredential(config: ConfigSource): TokenCredential {
    return createCredential(credentialSettings(config));
}
