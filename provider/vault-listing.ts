/**
 * Listing a vault's objects of one kind for `VaultBackup`, in the program (not the provider
 * host): the kind's real SDK listing (List Secrets / Keys / Certificates, needs that kind's
 * `list` permission), with the provider's credential rules and error messages.
 */
import type { TokenCredential } from "@azure/identity";
import { createCredential, credentialSettings, type ConfigSource } from "./credentials";
import { VaultError, factsFromError, type VaultErrorFacts } from "./errors";
import { KINDS, type KindClient, type KindInfo, type RawResponse } from "./kinds";
import { DEFAULT_THROTTLE_BACKOFF_MS, relaxChallengeVerification, retryWhileThrottled } from "./vault-client";
import type { ApiVersion } from "./validate";

/** One listed object: only what decides whether and when it is backed up. Never a value. */
export interface ListedObject {
    name: string;
    /** False when the current version is disabled (VaultBackup skips those unless told otherwise). */
    enabled: boolean;
    /** True for a certificate's key or secret (VaultBackup skips those: the certificate's backup holds them). */
    managed: boolean;
    /** When the object last changed (moves with every new version), ISO 8601 UTC; absent when the listing has no time. */
    updatedOn?: string;
}

/** One listed secret (a `ListedObject` of kind secret). */
export type ListedSecret = ListedObject;

/**
 * The vault's objects of `kind` (not the deleted ones), sorted by name. A 429 (Key Vault sends no
 * Retry-After, so the SDK does not retry it) restarts the listing after 1, 2, 4, 8, 16 s, calling
 * `onPause` before each wait (the wait, the attempt that follows, the number of attempts). Throws
 * `VaultError` (operation `list`) with Key Vault's facts and what to do, e.g. for a 403 without
 * the `list` permission.
 */
export async function listVaultObjects(
    kind: KindInfo,
    vaultUrl: string,
    apiVersion: ApiVersion,
    credential: TokenCredential,
    backoffMs: number[] = DEFAULT_THROTTLE_BACKOFF_MS,
    onPause?: (waitMs: number, attempt: number, attempts: number) => void,
): Promise<ListedObject[]> {
    const client = kind.client(vaultUrl, credential, {
        serviceVersion: apiVersion,
        disableChallengeResourceVerification: relaxChallengeVerification(vaultUrl),
    });
    const context = { operation: "list", vaultUrl, secretName: "*", kind: kind.kind };
    const listing = async (): Promise<ListedObject[]> => {
        const result = await listOnce(client);
        if (!result.ok) throw new VaultError(context, result.facts);
        return result.objects;
    };
    const statusOf = (e: unknown) => (e instanceof VaultError ? e.facts.status : undefined);
    try {
        const objects = await retryWhileThrottled(listing, backoffMs, { statusOf, onPause });
        return objects.sort((a, b) => a.name.localeCompare(b.name));
    } catch (e) {
        if (e instanceof VaultError && e.facts.status === 429) throw new VaultError(context, { ...e.facts, throttledBackoffMs: backoffMs });
        throw e;
    }
}

/** `listVaultObjects` for secrets. */
export function listVaultSecrets(vaultUrl: string, apiVersion: ApiVersion, credential: TokenCredential, backoffMs: number[] = DEFAULT_THROTTLE_BACKOFF_MS): Promise<ListedSecret[]> {
    return listVaultObjects(KINDS.secret, vaultUrl, apiVersion, credential, backoffMs);
}

/** One pass over every page; on failure, the facts, read from the failed page's body because the SDK's pager drops it. */
async function listOnce(client: KindClient): Promise<{ ok: true; objects: ListedObject[] } | { ok: false; facts: VaultErrorFacts }> {
    let last: RawResponse | undefined;
    const out: ListedObject[] = [];
    try {
        for await (const p of client.list({ onResponse: (r) => void (last = r) })) {
            const listed: ListedObject = { name: p.name, enabled: p.enabled, managed: p.managed };
            if (p.updatedOn) listed.updatedOn = p.updatedOn.toISOString();
            out.push(listed);
        }
        return { ok: true, objects: out };
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
