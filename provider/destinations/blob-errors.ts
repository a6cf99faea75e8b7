/**
 * Turns what the Storage SDK and the credential throw into one error a person can act on: it names
 * the operation, account and container, keeps Storage's HTTP status, error code and request id,
 * and ends with what to do. Never copies a header, token or query string into the message.
 */

/** Which step failed; words used in the message. */
export type BlobOperation = "write" | "read back" | "read" | "verify" | "remove";

/** The account, container and (when known) blob an operation was about. */
export interface BlobContext {
    account: string;
    container: string;
    blobName?: string;
}

/** A failed Blob Storage operation, with Storage's facts kept as fields. */
export class BlobStorageError extends Error {
    override name = "BlobStorageError";
    constructor(
        message: string,
        /** HTTP status from Storage; undefined when no response came (network, credential). */
        readonly statusCode: number | undefined,
        /** Storage's error code (`x-ms-error-code`), or the network / credential error's code. */
        readonly code: string | undefined,
        /** Storage's `x-ms-request-id`, for a support ticket. */
        readonly requestId: string | undefined,
        readonly account: string,
        readonly container: string,
    ) {
        super(message);
    }
}

interface Facts {
    status?: number;
    code?: string;
    requestId?: string;
    detail?: string;
    kind: "storage" | "network" | "credential" | "other";
}

/** Translates any error thrown during `operation` into a `BlobStorageError` (returned as is if it already is one). */
export function translateBlobError(error: unknown, operation: BlobOperation, ctx: BlobContext): BlobStorageError {
    if (error instanceof BlobStorageError) return error;
    const facts = factsOf(error);
    const where = describe(ctx);
    const head = [facts.status, facts.code].filter((x) => x !== undefined).join(" ");
    const id = facts.requestId ? ` (request id ${facts.requestId})` : "";
    const detail = facts.detail ? `: ${facts.detail}` : "";
    const message = `Blob Storage ${operation} failed for ${where}: ${head || "error"}${id}${detail}. ${advice(facts, ctx)}`;
    return new BlobStorageError(message, facts.status, facts.code, facts.requestId, ctx.account, ctx.container);
}

/** Builds a `BlobStorageError` for a failure this code detects itself (no Storage response behind it). */
export function blobError(operation: BlobOperation, ctx: BlobContext, what: string, code: string): BlobStorageError {
    return new BlobStorageError(
        `Blob Storage ${operation} failed for ${describe(ctx)}: ${what}.`,
        undefined,
        code,
        undefined,
        ctx.account,
        ctx.container,
    );
}

/** `account "a", container "c", blob "b"`. */
function describe(ctx: BlobContext): string {
    const blob = ctx.blobName ? `, blob "${ctx.blobName}"` : "";
    return `account "${ctx.account}", container "${ctx.container}"${blob}`;
}

function factsOf(error: unknown): Facts {
    const e = (error ?? {}) as {
        name?: string;
        message?: string;
        statusCode?: number;
        code?: string;
        details?: { errorCode?: string; requestId?: string; message?: string; authenticationErrorDetail?: string };
        response?: { headers?: { get(name: string): string | undefined } };
    };
    if (/^(AuthenticationError|AuthenticationRequiredError|AggregateAuthenticationError|CredentialUnavailableError)$/.test(e.name ?? "")) {
        return { kind: "credential", code: e.name, detail: firstLine(e.message) };
    }
    if (typeof e.statusCode === "number") {
        const headers = e.response?.headers;
        const code = e.details?.errorCode ?? headers?.get("x-ms-error-code") ?? e.code;
        const requestId = headers?.get("x-ms-request-id") ?? e.details?.requestId;
        const auth = e.details?.authenticationErrorDetail;
        const text = e.details?.message ?? e.message;
        const detail = [firstLine(text), auth ? firstLine(auth) : undefined].filter(Boolean).join(". ");
        return { kind: "storage", status: e.statusCode, code, requestId, detail: detail || undefined };
    }
    if (e.code === "REQUEST_SEND_ERROR" || e.name === "AbortError" || /^E[A-Z]+$/.test(e.code ?? "")) {
        return { kind: "network", code: e.code ?? e.name, detail: firstLine(e.message) };
    }
    return { kind: "other", code: e.code, detail: firstLine(e.message ?? String(error)) };
}

/** Storage messages carry `RequestId:` and `Time:` lines after the text; keep only the text. */
function firstLine(text: string | undefined): string | undefined {
    const line = (text ?? "").split("\n")[0].trim().replace(/[.\s]+$/, "");
    return line || undefined;
}

function advice(f: Facts, ctx: BlobContext): string {
    const { account, container } = ctx;
    if (f.kind === "credential") {
        return (
            "Could not get a token for Azure Storage: check the credential (azure-native:clientId/clientSecret/tenantId, " +
            "or the environment for DefaultAzureCredential) and that it can sign in to this tenant."
        );
    }
    if (f.kind === "network") {
        return (
            `Could not reach the account "${account}": check the account name and endpoint, DNS, and the network path ` +
            "(firewall, private endpoint, proxy); for Azurite, check that it is running."
        );
    }
    switch (f.status) {
        case 404:
            if (f.code === "ContainerNotFound") {
                return (
                    `Create the container "${container}" in account "${account}" ` +
                    `(az storage container create --account-name ${account} --name ${container} --auth-mode login) ` +
                    "or correct the destination URL."
                );
            }
            if (f.code === "BlobNotFound") return "The blob is not there: it was deleted or the location is wrong.";
            return `Check that the account "${account}" exists and the URL is right.`;
        case 401:
            return "Storage received no usable token: check the credential and that the account accepts Microsoft Entra ID sign-in.";
        case 403:
            return forbiddenAdvice(f.code, ctx);
        case 409:
            if (f.code === "BlobAlreadyExists") return "It was left untouched: backups never overwrite anything.";
            return "Storage refused the operation because of the blob's or container's state; retry later.";
        case 412:
            return "The blob changed while this operation ran; someone else is writing to it.";
        case 429:
        case 503:
            return "Storage is throttling or busy; retry in a few minutes.";
        default:
            if (f.status !== undefined && f.status >= 500) return "Storage had a server error; retry later.";
            return "Check the destination URL and the identity's access to the container.";
    }
}

function forbiddenAdvice(code: string | undefined, { account, container }: BlobContext): string {
    const role =
        `grant the identity the "Storage Blob Data Contributor" role on account "${account}" or container "${container}" ` +
        "(a data-plane role: Owner or Contributor alone do not allow reading or writing blobs)";
    if (code === "AuthenticationFailed") {
        return (
            "Storage refused the token: check that the credential signs in to the account's tenant and asks for " +
            `https://storage.azure.com; then ${role}.`
        );
    }
    if (code === "AuthorizationFailure") {
        return `Check the account's firewall and network rules allow this machine, and ${role}.`;
    }
    return `To fix it, ${role}.`;
}
