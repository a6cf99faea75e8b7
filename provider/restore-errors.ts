/** Turning Key Vault's refusal of a restore into a message a person can act on. */
import { factsFromError, factsList, isManagedRefusal, throttlingSentence } from "./errors";
import { KINDS, type KindInfo } from "./kinds";

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

/**
 * Builds the `RestoreError` for a failed Restore Secret / Key / Certificate call (by `kind`, a
 * secret by default) of backup `location` into `vaultUrl`; `throttledBackoffMs` lists the waits
 * already spent on earlier 429s.
 */
export function restoreFailure(e: unknown, location: string, vaultUrl: string, throttledBackoffMs?: number[], kind: KindInfo = KINDS.secret): RestoreError {
    const f = factsFromError(e);
    const said = f.message ? `: ${f.message}` : "";
    const waits = f.status === 429 ? throttlingSentence(throttledBackoffMs) : "";
    const msg = `Restore of ${location} into ${vaultUrl} failed: ${f.status !== undefined ? "Key Vault answered " : ""}${factsList(f)}${said}${waits}\nWhat to do: ${isManagedRefusal(f, kind) ? managedRestoreAdvice(kind) : advice(kind, f.status, f.code, f.innerCode)}`;
    return new RestoreError(msg, f.status, f.code, f.requestId);
}

/**
 * Builds the `RestoreError` that ends a whole-vault restore before anything is sent, when listing
 * the vault's `kind` objects failed without an HTTP answer: the vault cannot be reached (network:
 * ECONNREFUSED, DNS, TLS, proxy) or the credential was refused. Keeps the error's code and says
 * what to do next; every object would fail the same way, so there is no per-object advice.
 */
export function vaultUnreachable(e: unknown, vaultUrl: string, kind: KindInfo): RestoreError {
    const f = factsFromError(e);
    const said = f.message ? `: ${f.message}` : "";
    const msg = `Could not list the ${kind.plural} of ${vaultUrl}${f.code ? ` (${f.code})` : ""}${said}. Stopped before restoring anything: every object would fail the same way.\nWhat to do: ${advice(kind, undefined, f.code, undefined)}`;
    return new RestoreError(msg, undefined, f.code, undefined);
}

function managedRestoreAdvice(kind: KindInfo): string {
    return `the name belongs to a certificate's ${kind.noun}, whose lifetime Key Vault manages: restore the certificate's backup instead (it brings back its key and secret).`;
}

function advice(kind: KindInfo, status: number | undefined, code: string | undefined, inner: string | undefined): string {
    if (status === undefined) {
        if (code === "AuthenticationError") {
            return "Microsoft Entra ID refused the credential: check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (and AZURE_AUTHORITY_HOST), and that the client secret has not expired.";
        }
        return code === "CredentialUnavailableError"
            ? "no usable Azure credential: set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID, or sign in with az login."
            : "the vault could not be reached: check the vault URL, DNS, proxy and firewall, then run the restore again.";
    }
    const others = Object.values(KINDS).filter((k) => k !== kind).map((k) => k.noun).join(" or ");
    switch (status) {
        case 409:
            return (
                `a ${kind.noun} of this name already exists in the vault, active or soft-deleted, or was purged seconds ago; ` +
                `restore never overwrites. Either recover the deleted ${kind.noun} instead of restoring ` +
                `(${kind.cli} recover), or delete and purge the existing one ` +
                `(${kind.cli} delete, then ${kind.cli} purge) and run the restore again; ` +
                "right after a purge, wait a few seconds first."
            );
        case 400:
            return (
                `Key Vault could not read the backup. Pick the right file: a ${kind.noun} backup (not a ${others} backup), ` +
                "taken from a vault in the same Azure subscription and geography as this one, and unchanged since " +
                `(compare it with the ${kind.resourceName}'s sha256 using secret-backup verify --sha256).`
            );
        case 401:
            return "the vault did not accept the credential: check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or az login) and the vault's tenant.";
        case 403:
            return inner === "ForbiddenByFirewall"
                ? "the vault's firewall refused this client: allow its address, or run the restore from an allowed network."
                : inner === "ForbiddenByRbac"
                  ? `the identity lacks the data action ${kind.dataActions.restore}: assign it a role that has it (e.g. ${kind.rbacRole}).`
                  : `the identity lacks the ${kind.plural} restore permission: grant it 'restore' in the vault's access policy or the ${kind.rbacRole} role (RBAC).`;
        case 429:
            return "the vault is throttling requests: wait a minute and run the restore again.";
        default:
            return status >= 500 ? "Key Vault had a server error: run the restore again later." : "check the vault URL and the backup, then run the restore again.";
    }
}
