/**
 * The recovery tools' view of the kind table (`kinds.ts`): for one kind and target vault, the
 * names already in use (active and soft-deleted) and the one Restore call. `restoreVault` knows
 * nothing kind-specific beyond this.
 */
import type { TokenCredential } from "@azure/identity";
import type { ObjectKind } from "../destinations/destination";
import { KINDS, type KindInfo } from "../kinds";
import { relaxChallengeVerification, retryWhileThrottled } from "../vault-client";
import type { ApiVersion } from "../validate";

/** The names an object kind uses in a vault, lower-cased (Key Vault names ignore case). */
export interface NamesInVault {
    active: Set<string>;
    /** Soft-deleted, recoverable: the name cannot be restored into until recovered or purged. */
    deleted: Set<string>;
}

/** What one successful Restore call reported; never a value. */
export interface RestoreAnswer {
    name: string;
    /** The restored current version's id. */
    id: string;
    /** Key Vault's `x-ms-request-id`. */
    requestId: string;
}

/** One kind's restore calls against one vault. */
export interface ObjectRestorer {
    /** The kind's row in the kind table (nouns, CLI words, advice). */
    info: KindInfo;
    /** Lists the kind's active and deleted names (List and List Deleted; needs `list`). 429s are backed off as `backoffMs` says. */
    namesInVault(backoffMs: readonly number[]): Promise<NamesInVault>;
    /** One Restore call with the verified backup bytes; rejects with the SDK's error as it came. */
    restore(bytes: Uint8Array): Promise<RestoreAnswer>;
}

/** The restorer of `kind` for `vaultUrl`, through the kind table's SDK client. */
export function restorerFor(kind: ObjectKind, vaultUrl: string, credential: TokenCredential, apiVersion: ApiVersion): ObjectRestorer {
    const info = KINDS[kind];
    const client = info.client(vaultUrl, credential, { serviceVersion: apiVersion, disableChallengeResourceVerification: relaxChallengeVerification(vaultUrl) });
    return {
        info,
        namesInVault: async (backoffMs) => {
            const active = await retryWhileThrottled(() => lowerCased(names(client.list())), backoffMs);
            const deleted = await retryWhileThrottled(() => lowerCased(client.listDeletedNames()), backoffMs);
            return { active, deleted };
        },
        restore: async (bytes) => {
            let requestId = "";
            const restored = await client.restore(bytes, {
                onResponse: (response) => {
                    requestId = response.headers.get("x-ms-request-id") ?? requestId;
                },
            });
            return { ...restored, requestId };
        },
    };
}

async function* names(items: AsyncIterable<{ name: string }>): AsyncIterable<string> {
    for await (const item of items) yield item.name;
}

async function lowerCased(items: AsyncIterable<string>): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const name of items) out.add(name.toLowerCase());
    return out;
}
