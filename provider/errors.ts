/**
 * Turns what went wrong while talking to Key Vault into one message a person can act on: which
 * operation, vault and object (secret, key or certificate, with that kind's permission names); Key Vault's own facts (HTTP status, error code, inner error code,
 * message, request id); then one "What to do:" line. Only fields the service or the network stack
 * produced are used, so no token or secret value can reach the message.
 */

/** Which call failed, for the message's first line. */
export interface VaultCallContext {
    /** e.g. "backup". */
    operation: string;
    vaultUrl: string;
    /** The object's name (a secret's, key's or certificate's; `*` for a whole listing). */
    secretName: string;
    /** The object's kind; a secret when absent. */
    kind?: ObjectKind;
}

import { kindInfo, type KindInfo, type ObjectKind } from "./kinds";

/** The facts of one failed call, as far as they are known. */
export interface VaultErrorFacts {
    status?: number;
    code?: string;
    innerCode?: string;
    message?: string;
    requestId?: string;
    /** Set when the vault kept answering 429 through every back-off step: the waits, in ms. */
    throttledBackoffMs?: number[];
}

/** A Key Vault call that failed; `message` is the full, user-facing text. */
export class VaultError extends Error {
    /** The facts the message was built from (no secret material). */
    readonly facts: VaultErrorFacts;
    constructor(context: VaultCallContext, facts: VaultErrorFacts) {
        super(formatVaultError(context, facts));
        this.name = "VaultError";
        this.facts = facts;
    }
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "REQUEST_SEND_ERROR", "UND_ERR_SOCKET"]);

/** The message for one failed call: facts first, then exactly one "What to do:" line. */
function formatVaultError(context: VaultCallContext, facts: VaultErrorFacts): string {
    const head = `${context.operation} of ${kindInfo(context.kind ?? "secret").noun} "${context.secretName}" in vault ${context.vaultUrl} failed`;
    const listed = factsList(facts);
    const detail = listed ? ` (${listed})` : "";
    const said = facts.message ? `: ${facts.message}` : "";
    return `${head}${detail}${said}${throttlingSentence(facts.throttledBackoffMs)}\nWhat to do: ${advice(context, facts)}`;
}

/** The service's facts as a list: `HTTP 403, code Forbidden, inner code AccessDenied, request id ...` (absent ones left out). */
export function factsList(facts: VaultErrorFacts): string {
    const parts: string[] = [];
    if (facts.status !== undefined) parts.push(`HTTP ${facts.status}`);
    if (facts.code) parts.push(`code ${facts.code}`);
    if (facts.innerCode) parts.push(`inner code ${facts.innerCode}`);
    if (facts.requestId) parts.push(`request id ${facts.requestId}`);
    return parts.join(", ");
}

/** "\nThe vault is throttling: ..." after the 429 back-off `waits` were spent, else "". */
export function throttlingSentence(waits: readonly number[] | undefined): string {
    return waits?.length
        ? `\nThe vault is throttling: all ${waits.length + 1} attempts were answered 429, backing off ${waits.map((ms) => `${ms / 1000}`).join(", ")} s between them.`
        : "";
}

/**
 * Whether Key Vault refused a call on an object of `kind` because the object is a certificate's
 * managed key or secret: 403 with the kind's inner code (`managedInnerCode` of the kind table,
 * e.g. `KeyManagedByKeyVault`), or with a message saying so (the current wordings do not all
 * carry the inner code).
 */
export function isManagedRefusal(f: VaultErrorFacts, kind: KindInfo): boolean {
    if (f.status !== 403) return false;
    return (kind.managedInnerCode !== undefined && f.innerCode === kind.managedInnerCode) || /managed by Key Vault|associated with a certificate/i.test(f.message ?? "");
}

/** What to do about a certificate's managed key or secret `name`: back up the certificate. */
export function managedAdvice(kind: KindInfo, name: string): string {
    return `"${name}" is the ${kind.noun} Key Vault keeps for the certificate "${name}": its lifetime is managed by Key Vault and the certificate's backup holds it. Back up the certificate instead (CertificateBackup with certificateName "${name}", or VaultBackup, which skips managed ${kind.plural}), and remove this ${kind.resourceName}.`;
}

/** One line of advice for the failure's status and codes. */
function advice(context: VaultCallContext, f: VaultErrorFacts): string {
    const kind = kindInfo(context.kind ?? "secret");
    const inner = f.innerCode ?? "";
    if (f.status === 401) {
        return "the vault did not accept the credential. Check azure-native:clientId/clientSecret/tenantId (or AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, or `az login`) and that the identity belongs to the vault's tenant.";
    }
    if (f.status === 403 && inner === "ForbiddenByFirewall") {
        return `allow this machine's address through the vault's firewall (Networking settings of ${context.vaultUrl}), or run from a network the vault trusts.`;
    }
    if (f.status === 403 && inner === "ForbiddenByRbac") {
        const action = context.operation === "list" ? kind.dataActions.list : kind.dataActions.backup;
        return `assign the identity a role with the data action ${action} on the vault (e.g. "${kind.rbacRole}"), then retry.`;
    }
    if (isManagedRefusal(f, kind)) return managedAdvice(kind, context.secretName);
    if (f.status === 403 && /Disabled$/.test(inner)) {
        return `enable the ${kind.noun} "${context.secretName}" (Key Vault refused it because its current version is disabled), or remove this backup.`;
    }
    if (f.status === 403) {
        return `grant the identity the ${kind.plural} "${context.operation}" permission in the vault's access policies (or an RBAC role that includes it), then retry.`;
    }
    if (f.status === 404 && f.code !== kind.notFoundCode) {
        // Key Vault names a missing object with the kind's code; a 404 without it came from something else at that URL.
        return `the server at ${context.vaultUrl} answered 404 without Key Vault's ${kind.notFoundCode}: check that vaultUrl is the vault's own URL (https://<vault name>.vault.azure.net, as the portal's "Vault URI" shows), not another address.`;
    }
    if (f.status === 404) {
        return `check that the ${kind.noun} "${context.secretName}" exists in ${context.vaultUrl} (a deleted ${kind.noun} must be recovered first) and that ${kind.nameInput} and vaultUrl are spelled right.`;
    }
    if (f.status === 409) {
        return `another operation holds this ${kind.noun}'s name (for example a soft-deleted ${kind.noun} of the same name); recover or purge it, then retry.`;
    }
    if (f.status === 429) {
        return "the vault is throttling (Key Vault allows about 4,000 operations per 10 seconds per vault); run again later, back up fewer objects per run, or lower the pacing with the secret-backup:vaultOperationsPer10Seconds config.";
    }
    if (f.status === 400) {
        return `Key Vault refused the request as malformed; check apiVersion and ${kind.nameInput} against the message above.`;
    }
    if (f.status !== undefined && f.status >= 500) {
        return "Key Vault had an internal error; the call was already retried, so run `pulumi up` again later and, if it persists, quote the request id to Azure support.";
    }
    if (f.code && NETWORK_CODES.has(f.code)) {
        return `could not reach ${context.vaultUrl}; check the URL, DNS, proxy and firewall between this machine and the vault.`;
    }
    if (f.code === "AuthenticationError") {
        return "Microsoft Entra ID refused the credential: check azure-native:clientId/clientSecret/tenantId (or AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID), that the client secret has not expired, and azure-native:environment.";
    }
    if (f.code === "CredentialUnavailableError") {
        return "no usable Azure credential: set azure-native:clientId/clientSecret/tenantId in the stack config (keyvault-backup:clientId/clientSecret/tenantId for the provider plugin), or AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, or sign in with `az login`.";
    }
    return "run again; if it fails the same way, check the vault's status and the facts above.";
}

/** Reads the facts out of whatever the SDK, identity library or network stack threw. */
export function factsFromError(error: unknown): VaultErrorFacts {
    const e = (error ?? {}) as {
        name?: string; message?: string; code?: string; statusCode?: number;
        details?: { error?: { code?: string; message?: string; innerError?: { code?: string } } };
        response?: { headers?: { get(name: string): string | undefined }; bodyAsText?: string | null };
    };
    const body = e.details?.error ?? parseErrorBody(e.response?.bodyAsText);
    const requestId = e.response?.headers?.get("x-ms-request-id");
    // The bearer policy wraps a refused token request as AuthenticationRequiredError.
    const identityCode = { CredentialUnavailableError: "CredentialUnavailableError", AggregateAuthenticationError: "CredentialUnavailableError", AuthenticationError: "AuthenticationError", AuthenticationRequiredError: "AuthenticationError" }[e.name ?? ""];
    if (identityCode) return { code: identityCode, message: firstLine(e.message) };
    return {
        status: e.statusCode,
        code: body?.code ?? e.code,
        innerCode: body?.innerError?.code,
        message: body?.message ?? firstLine(e.message),
        requestId: requestId || undefined,
    };
}

function parseErrorBody(text: string | null | undefined): { code?: string; message?: string; innerError?: { code?: string } } | undefined {
    if (!text) return undefined;
    try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; innererror?: { code?: string } } };
        if (!parsed.error) return undefined;
        return { code: parsed.error.code, message: parsed.error.message, innerError: parsed.error.innererror };
    } catch {
        return undefined;
    }
}

// Identity errors can run to many lines of troubleshooting links; the first says what happened.
function firstLine(message: string | undefined): string | undefined {
    return message?.split("\n")[0]?.trim() || undefined;
}
