/** Turning Key Vault's refusal of a restore into a message a person can act on. */

/** The parts of the Azure SDK's `RestError` used here (matched by name, as the SDK's own `isRestError` does). */
interface RestErrorLike extends Error {
    statusCode?: number;
    code?: string;
    details?: unknown;
    response?: { headers: { get(name: string): string | undefined } };
}

function isRestError(e: unknown): e is RestErrorLike {
    return e instanceof Error && e.name === "RestError";
}

/** Thrown when Key Vault (or the network) refuses a restore; keeps the service's facts. */
export class RestoreError extends Error {
    constructor(
        message: string,
        /** HTTP status, absent for network errors. */
        readonly statusCode: number | undefined,
        /** Key Vault's error code (or the network error code). */
        readonly code: string | undefined,
        /** Key Vault's `x-ms-request-id`, when a response came back. */
        readonly requestId: string | undefined,
    ) {
        super(message);
        this.name = "RestoreError";
    }
}

/** Builds the `RestoreError` for a failed Restore Secret call of backup `location` into `vaultUrl`. */
export function restoreFailure(e: unknown, location: string, vaultUrl: string): RestoreError {
    const head = `Restore of ${location} into ${vaultUrl} failed`;
    if (!isRestError(e)) return new RestoreError(`${head}: ${(e as Error)?.message ?? String(e)}`, undefined, undefined, undefined);
    const requestId = e.response?.headers.get("x-ms-request-id") ?? undefined;
    const inner = innerCode(e);
    if (e.statusCode === undefined) {
        const msg = `${head}: the vault could not be reached (${e.code ?? "network error"}: ${e.message}).\nWhat to do: check the vault URL, DNS and firewall, then run the restore again.`;
        return new RestoreError(msg, undefined, e.code, undefined);
    }
    const facts = [`HTTP ${e.statusCode}`, e.code && `code ${e.code}`, inner && `inner code ${inner}`, requestId && `request id ${requestId}`]
        .filter(Boolean)
        .join(", ");
    const msg = `${head}: Key Vault answered ${facts}: ${e.message}\nWhat to do: ${advice(e.statusCode, inner)}`;
    return new RestoreError(msg, e.statusCode, e.code, requestId);
}

function advice(status: number, inner: string | undefined): string {
    switch (status) {
        case 409:
            return (
                "a secret of this name already exists in the vault, active or soft-deleted, or was purged seconds ago; " +
                "restore never overwrites. Either recover the deleted secret instead of restoring " +
                "(az keyvault secret recover), or delete and purge the existing one " +
                "(az keyvault secret delete, then az keyvault secret purge) and run the restore again; " +
                "right after a purge, wait a few seconds first."
            );
        case 400:
            return (
                "Key Vault could not read the backup. Pick the right file: a secret backup (not a key or certificate backup), " +
                "taken from a vault in the same Azure subscription and geography as this one, and unchanged since " +
                "(compare it with the SecretBackup's sha256 using secret-backup verify --sha256)."
            );
        case 401:
            return "the vault did not accept the credential: check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or az login) and the vault's tenant.";
        case 403:
            return inner === "ForbiddenByFirewall"
                ? "the vault's firewall refused this client: allow its address, or run the restore from an allowed network."
                : "the identity lacks the secrets restore permission: grant it 'restore' in the vault's access policy or the Key Vault Secrets Officer role (RBAC).";
        case 429:
            return "the vault is throttling requests: wait a minute and run the restore again.";
        default:
            return status >= 500 ? "Key Vault had a server error: run the restore again later." : "check the vault URL and the backup, then run the restore again.";
    }
}

function innerCode(e: RestErrorLike): string | undefined {
    const details = e.details as { error?: { innererror?: { code?: unknown } } } | undefined;
    const code = details?.error?.innererror?.code;
    return typeof code === "string" ? code : undefined;
}
