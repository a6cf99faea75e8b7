/**
 * The per-kind seam of the recovery tools: how a backup of each object kind is checked (framing),
 * which names the target vault already uses (active and soft-deleted), and the one Restore call.
 * `restoreVault` knows nothing kind-specific beyond this table.
 */
import type { TokenCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import type { ObjectKind } from "../destinations/destination";
import { FramingError, parseBackupFraming, type BackupFraming } from "../backup-framing";
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
    kind: ObjectKind;
    /** Lists the kind's active and deleted names (List and List Deleted; needs `list`). 429s are backed off as `backoffMs` says. */
    namesInVault(backoffMs: readonly number[]): Promise<NamesInVault>;
    /** One Restore call with the verified backup bytes; rejects with the SDK's error as it came. */
    restore(bytes: Uint8Array): Promise<RestoreAnswer>;
    /** The Azure CLI words for this kind in advice: `secret`, `key`, `certificate`. */
    cliNoun: string;
}

/** The framing check of `kind`'s backups, for `verifyBackup`'s `framing` option. */
export function framingFor(kind: ObjectKind): { parse(bytes: Uint8Array): BackupFraming; what: string } {
    if (kind === "secret") return { parse: parseBackupFraming, what: "secret" };
    return {
        what: kind,
        parse: () => {
            throw new FramingError(`this version of secret-backup cannot check ${kind} backups yet`);
        },
    };
}

/**
 * The restorer of `kind` for `vaultUrl`, or undefined when this version cannot restore that kind
 * (the caller reports each such object as failed, with what to do).
 */
export function restorerFor(kind: ObjectKind, vaultUrl: string, credential: TokenCredential, apiVersion: ApiVersion): ObjectRestorer | undefined {
    if (kind !== "secret") return undefined;
    const client = new SecretClient(vaultUrl, credential, {
        serviceVersion: apiVersion,
        disableChallengeResourceVerification: relaxChallengeVerification(vaultUrl),
    });
    return {
        kind,
        cliNoun: "secret",
        namesInVault: async (backoffMs) => {
            const active = await retryWhileThrottled(() => collect(client.listPropertiesOfSecrets(), (p) => p.name), backoffMs);
            const deleted = await retryWhileThrottled(() => collect(client.listDeletedSecrets(), (d) => d.name), backoffMs);
            return { active, deleted };
        },
        restore: async (bytes) => {
            let requestId = "";
            const restored = await client.restoreSecretBackup(bytes, {
                onResponse: (response) => {
                    requestId = response.headers.get("x-ms-request-id") ?? requestId;
                },
            });
            return { name: restored.name, id: restored.id ?? "", requestId };
        },
    };
}

async function collect<T>(items: AsyncIterable<T>, name: (item: T) => string): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const item of items) out.add(name(item).toLowerCase());
    return out;
}
