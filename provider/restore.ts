/**
 * Restore a stored backup into a vault: verify it first (so a damaged or wrong file never
 * reaches Key Vault), then call Restore Secret, Key or Certificate through the kind's Azure SDK
 * client (see `kinds.ts`). Shared by `secret-backup restore` and the package's exports.
 */
import type { TokenCredential } from "@azure/identity";
import { loadVerifiedBackup, VerifiedBackup } from "./verify";
import { KINDS, type ObjectKind } from "./kinds";
import { BackupInputError } from "./backup-errors";
import { environmentCredential } from "./credentials";
import { restoreFailure } from "./restore-errors";
import { DEFAULT_THROTTLE_BACKOFF_MS, relaxChallengeVerification, retryWhileThrottled } from "./vault-client";
import { factsFromError } from "./errors";
import { apiVersionProblem, DEFAULT_API_VERSION, normalizeVaultUrl, vaultUrlProblem, type ApiVersion } from "./validate";

export { RestoreError } from "./restore-errors";

/** Arguments of `restoreBackup`. */
export interface RestoreArgs {
    /** Where the backup is: a `file://` URL, a plain path, or a Blob Storage URL. */
    from: string;
    /** The vault to restore into, e.g. `https://myvault.vault.azure.net` (same subscription and geography as the source). */
    vaultUrl: string;
    /** Expected hex SHA-256 of the backup; checked before anything is sent when given. */
    sha256?: string;
    /** Credential for the vault (and Blob Storage); by default the provider's (environment, managed identity, CLI). */
    credential?: TokenCredential;
    /** Key Vault API version, default `"7.4"`; one of those `SecretBackup` accepts. */
    apiVersion?: string;
    /**
     * What the backup holds; by default its file or blob name tells (see `VerifyOptions.kind`).
     * Needed only for a renamed key or certificate backup.
     */
    kind?: ObjectKind;
    /**
     * Waits in ms after each 429 before sending again (Key Vault sends no Retry-After, so the
     * SDK does not retry them); default 1, 2, 4, 8, 16 s, as Microsoft advises. `[]` fails at once.
     */
    throttleBackoffMs?: number[];
}

/** What Key Vault reported about the restored object; never a value. */
export interface RestoredSecret {
    /** The vault restored into. */
    vaultUrl: string;
    /** What was restored: a secret, key or certificate. */
    kind: ObjectKind;
    /** The restored object's name (kept under this field name for callers from before keys and certificates). */
    secretName: string;
    /** The restored current version's id, as Key Vault returned it. */
    id: string;
    /** Key Vault's `x-ms-request-id` of the restore call. */
    requestId: string;
    /** What verification found before sending. */
    backup: VerifiedBackup;
}

/**
 * Verifies the backup at `args.from` (see `verifyBackup`) and restores it into `args.vaultUrl`
 * with Restore Secret, Key or Certificate, by the backup's kind (needs that kind's `restore`
 * permission). Key Vault never overwrites: an object of the same name, active or soft-deleted,
 * makes it fail with 409. A key or certificate backup whose name does not tell which it is
 * (renamed) needs `args.kind`. Rejects with
 * `BackupInputError` for malformed arguments, `BackupVerificationError` when the backup is
 * missing or unsound (nothing is sent then), and `RestoreError` when Key Vault refuses; the
 * latter keeps the status, code and request id and says what to do. A 429 is retried after the
 * `throttleBackoffMs` waits; only 429s are retried (a 409 may be a real conflict).
 */
export async function restoreBackup(args: RestoreArgs): Promise<RestoredSecret> {
    const vaultUrl = checkVaultUrl(args.vaultUrl);
    const apiVersion = checkApiVersion(args.apiVersion ?? DEFAULT_API_VERSION);
    const credential = args.credential ?? environmentCredential();
    const { report, bytes } = await loadVerifiedBackup(args.from, { sha256: args.sha256, credential, kind: args.kind });
    if (!report.kind) {
        throw new BackupInputError("kind", `${report.location} is a key or certificate backup (they share one tag) and its name does not say which: give the kind (--kind key or --kind certificate)`);
    }
    const kind = KINDS[report.kind];
    const client = kind.client(vaultUrl, credential, {
        serviceVersion: apiVersion,
        disableChallengeResourceVerification: relaxChallengeVerification(vaultUrl),
    });
    const backoff = args.throttleBackoffMs ?? DEFAULT_THROTTLE_BACKOFF_MS;
    let requestId = "";
    try {
        const restored = await retryWhileThrottled(() => client.restore(bytes, {
            onResponse: (response) => {
                requestId = response.headers.get("x-ms-request-id") ?? "";
            },
        }), backoff);
        return { vaultUrl, kind: kind.kind, secretName: restored.name, id: restored.id, requestId, backup: report };
    } catch (e) {
        throw restoreFailure(e, report.location, vaultUrl, factsFromError(e).status === 429 ? backoff : undefined, kind);
    }
}

/** The vault URL normalised (origin); throws `BackupInputError` naming `vaultUrl` when `SecretBackup` would refuse it. */
export function checkVaultUrl(vaultUrl: string): string {
    const problem = vaultUrlProblem(vaultUrl);
    if (problem) throw new BackupInputError("vaultUrl", `vaultUrl: ${problem}`);
    return normalizeVaultUrl(vaultUrl);
}

/** The API version, checked; throws `BackupInputError` naming `apiVersion` when it is not one `SecretBackup` accepts. */
export function checkApiVersion(apiVersion: string): ApiVersion {
    const problem = apiVersionProblem(apiVersion);
    if (problem) throw new BackupInputError("apiVersion", `apiVersion: ${problem}`);
    return apiVersion as ApiVersion;
}
