/**
 * Key Vault's error wire format: one class that writes `{"error":{code,message,innererror?}}`,
 * and one named constructor per error the service answers (keyvault-behaviour.md, "Errors").
 * Tests build their expectations from the same constructors, so message and code stay in one place.
 */

/** The generic link the service appends to permission errors. */
const ACCESS_HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287";
const NOT_FOUND_HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

/** An error as Key Vault puts it on the wire: status, code, message and an optional inner code. */
export class KeyVaultError extends Error {
    /** `headers` are extra response headers (the bearer challenge on 401s). */
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly innerCode?: string,
        readonly headers: Record<string, string> = {},
    ) {
        super(message);
        this.name = "KeyVaultError";
    }

    /** The JSON body the service sends: `innererror` only when there is a sub-code. */
    toBody(): { error: { code: string; message: string; innererror?: { code: string } } } {
        const error: { code: string; message: string; innererror?: { code: string } } = {
            code: this.code,
            message: this.message,
        };
        if (this.innerCode) error.innererror = { code: this.innerCode };
        return { error };
    }
}

/** Who made a request, in the form Key Vault prints it in 403 messages. */
export interface CallerFacts {
    appId: string;
    objectId: string;
    tenantId: string;
}

function callerText(c: CallerFacts): string {
    return `appid=${c.appId};oid=${c.objectId};iss=https://sts.windows.net/${c.tenantId}/`;
}

/** 401 without a token: the bearer challenge. */
export function missingToken(challenge: string): KeyVaultError {
    return new KeyVaultError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, {
        "www-authenticate": challenge,
    });
}

/** 401 for a token issued for another resource. */
export function invalidAudience(challenge: string, found: string): KeyVaultError {
    return new KeyVaultError(
        401,
        "Unauthorized",
        `AKV10022: Invalid audience. Expected https://vault.azure.net, found: ${found}.`,
        undefined,
        { "www-authenticate": challenge },
    );
}

/** 401 for a token from another issuer (tenant). */
export function invalidIssuer(challenge: string, expected: string, found: string): KeyVaultError {
    return new KeyVaultError(
        401,
        "Unauthorized",
        `AKV10032: Invalid issuer. Expected one of ${expected}, found ${found}.`,
        undefined,
        { "www-authenticate": challenge },
    );
}

/** 401 for an expired token (the message users have pasted from the service). */
export function tokenExpired(challenge: string): KeyVaultError {
    return new KeyVaultError(401, "Unauthorized", "[TokenExpired] Error validating token: 'S2S12086'.", undefined, {
        "www-authenticate": challenge,
    });
}

/** 401 for a token whose signature does not verify with the tenant's published keys. */
export function unknownSigningKey(challenge: string): KeyVaultError {
    return new KeyVaultError(401, "Unauthorized", "AKV10046: Unable to resolve the key used for signature validation.", undefined, {
        "www-authenticate": challenge,
    });
}

/** 401 for a verified token whose application the tenant does not know, or that lacks appid/oid (emulator wording). */
export function unknownCaller(challenge: string): KeyVaultError {
    return new KeyVaultError(401, "Unauthorized", "AKV10000: The token's application is not known in this tenant.", undefined, {
        "www-authenticate": challenge,
    });
}

/** 403 AccessDenied: the access policy lacks `permission` (get, list, set, ...) of `kind` (secrets, keys, certificates). */
export function accessDenied(caller: CallerFacts, permission: string, vault: string, region: string, kind = "secrets"): KeyVaultError {
    return new KeyVaultError(
        403,
        "Forbidden",
        `The user, group or application '${callerText(caller)}' does not have ${kind} ${permission} permission on key vault '${vault};location=${region}'. ${ACCESS_HELP}`,
        "AccessDenied",
    );
}

/** 403 ForbiddenByRbac: an RBAC vault without a role granting `dataAction`. */
export function forbiddenByRbac(caller: CallerFacts, dataAction: string, vault: string, region: string, resource: string): KeyVaultError {
    return new KeyVaultError(
        403,
        "Forbidden",
        `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: ${callerText(caller)}\r\nAction: '${dataAction}'\r\nResource: '${resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: ${vault};location=${region}\r\n`,
        "ForbiddenByRbac",
    );
}

/** 403 ForbiddenByFirewall: the vault's network rules do not admit the client's address. */
export function forbiddenByFirewall(caller: CallerFacts, address: string, vault: string, region: string): KeyVaultError {
    return new KeyVaultError(
        403,
        "Forbidden",
        `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${address}\r\nCaller: ${callerText(caller)}\r\nVault: ${vault};location=${region}`,
        "ForbiddenByFirewall",
    );
}

/** 403 SecretDisabled: reading the value of a disabled version. */
export function secretDisabled(operation = "get"): KeyVaultError {
    return new KeyVaultError(403, "Forbidden", `Operation ${operation} is not allowed on a disabled secret.`, "SecretDisabled");
}

/** The service's 404 for an object of `noun` (secret, key, certificate) that does not exist (recorded for all three). */
function objectNotFound(noun: "secret" | "key" | "certificate", nameOrId: string): KeyVaultError {
    const code = `${noun[0].toUpperCase()}${noun.slice(1)}NotFound`;
    return new KeyVaultError(
        404,
        code,
        `A ${noun} with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this ${noun} you may be able to recover it using the correct recovery command. ${NOT_FOUND_HELP}`,
    );
}

/** The service's 404 for a deleted object of `noun` that does not exist (recorded for all three). */
function deletedObjectNotFound(noun: "Secret" | "Key" | "Certificate", name: string): KeyVaultError {
    return new KeyVaultError(404, `${noun}NotFound`, `Deleted ${noun} not found: ${name}`);
}

/** 404 for an active secret (or version) that does not exist. */
export function secretNotFound(nameOrId: string): KeyVaultError {
    return objectNotFound("secret", nameOrId);
}

/** 404 for a deleted secret that does not exist. */
export function deletedSecretNotFound(name: string): KeyVaultError {
    return deletedObjectNotFound("Secret", name);
}

/** 400 for a secret name outside 1-127 of `[0-9a-zA-Z-]`. */
export function invalidName(name: string): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", `The request URI contains an invalid name: ${name}`);
}

/** 400 for an api-version the service does not know (or none). */
export function unsupportedApiVersion(version: string, latest: string): KeyVaultError {
    return new KeyVaultError(
        400,
        "BadParameter",
        `The specified version (${version}) is not recognized. Consider using the latest supported version (${latest}).`,
    );
}

/** 400 for a request body or parameter the service rejects (emulator wording). */
export function badParameter(message: string): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", message);
}

/** 400 for a value over the service's 25 KB limit (emulator wording). */
export function valueTooLarge(limitBytes: number): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", `The secret value is larger than the maximum of ${limitBytes} bytes (25 KB).`);
}

/** 400 from Backup Secret for a secret with more versions than the service backs up (emulator wording). */
export function tooManyVersions(name: string, count: number, limit: number): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", `Secret ${name} has ${count} versions; Backup Secret supports at most ${limit}.`);
}

/** 400 for a blob whose tag is right but whose JWE cannot be parsed (the service's other "Malformed backup blob" wording). */
export function corruptBackup(): KeyVaultError {
    return new KeyVaultError(400, "Malformed backup blob", "Backup blob is corrupt.");
}

/**
 * 400 for a blob whose length byte or tag is not one this kind issues (recorded live for all-zero
 * bytes, keys and certificates), and for a well-framed blob this vault cannot decrypt or read
 * (another backup key, tampered content, or a key blob sent to certificate restore and the reverse:
 * that last answer is a guess, the nearest recorded one).
 */
export function invalidBackupVersion(): KeyVaultError {
    return new KeyVaultError(400, "Malformed backup blob", "Backup blob contains invalid or corrupt version.");
}

/** 409 on restore while the name is in use (active or soft-deleted). */
export function restoreConflict(versionedId: string): KeyVaultError {
    return new KeyVaultError(
        409,
        "Conflict",
        `There was a conflict restoring the secret '${versionedId}'. This can happen if either: a second secret with the same name was created after the first secret was deleted; or the secret is currently in a deleted but recoverable state, or was recently purged.`,
    );
}

/** 409 on set (or recover target) while the name is soft-deleted. */
export function deletedNameInUse(name: string): KeyVaultError {
    return new KeyVaultError(
        409,
        "Conflict",
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    );
}

/** 409 on set while a purge of the name is still being carried out (emulator wording). */
export function beingDeleted(name: string): KeyVaultError {
    return new KeyVaultError(409, "Conflict", `Secret ${name} is currently being deleted.`);
}

const MANAGED_HELP = "For more information refer to https://docs.microsoft.com/en-us/azure/key-vault/certificates/about-certificates#composition-of-a-certificate";

/**
 * 403 SecretManagedByKeyVault: a write-like operation on the secret a certificate owns. The text is
 * the current wording a user recorded for "delete"; the same text with another operation (update,
 * set, backup, restore) is an inference. In particular, refusing BACKUP of a managed secret is a
 * GUESS (no public source records it); `managedBackup: "allow"` turns it off.
 */
export function secretManaged(operation: string): KeyVaultError {
    return new KeyVaultError(
        403,
        "Forbidden",
        `Operation "${operation}" is not allowed on this secret, since it is associated with a certificate. Perform the operation on the corresponding certificate. ${MANAGED_HELP}`,
        "SecretManagedByKeyVault",
    );
}

/**
 * 403 KeyManagedByKeyVault for the key a certificate owns. "delete" gets the recorded text
 * ("... lifetime is managed by Key Vault."); other operations get the partly recorded newer wording
 * ("Operation "update" is not allowed on this Key, since it is associated with a certificate.")
 * completed like the secret's: the tail and the use for backup/restore are GUESSES.
 */
export function keyManaged(operation: string): KeyVaultError {
    const message = operation === "delete"
        ? `Operation "delete" is not allowed as this object's lifetime is managed by Key Vault.`
        : `Operation "${operation}" is not allowed on this Key, since it is associated with a certificate. Perform the operation on the corresponding certificate. ${MANAGED_HELP}`;
    return new KeyVaultError(403, "Forbidden", message, "KeyManagedByKeyVault");
}

/** 404 for an active key (or version) that does not exist (recorded). */
export function keyNotFound(nameOrId: string): KeyVaultError {
    return objectNotFound("key", nameOrId);
}

/** 404 for a deleted key that does not exist (recorded). */
export function deletedKeyNotFound(name: string): KeyVaultError {
    return deletedObjectNotFound("Key", name);
}

/** 404 for a certificate (or version) that does not exist; also recover of one never deleted (recorded). */
export function certificateNotFound(nameOrId: string): KeyVaultError {
    return objectNotFound("certificate", nameOrId);
}

/** 404 for a deleted certificate that does not exist (recorded). */
export function deletedCertificateNotFound(name: string): KeyVaultError {
    return deletedObjectNotFound("Certificate", name);
}

/** 404 for a certificate with no pending operation (emulator wording). */
export function pendingNotFound(name: string): KeyVaultError {
    return new KeyVaultError(404, "PendingCertificateNotFound", `Pending certificate not found: ${name}`);
}

function objectRestoreConflict(noun: "key" | "certificate", id: string): KeyVaultError {
    return new KeyVaultError(
        409,
        "Conflict",
        `There was a conflict restoring the ${noun} '${id}'. This can happen if either: a second ${noun} with the same name was created after the first ${noun} was deleted; thus trying to restore a ${noun} whose name is already in use. To fix this, rename the second ${noun} to something else so that the restore works. The second probable cause of this exception is when multiple operations are performed in parallel against the ${noun}. To avoid this error, perform operations against a ${noun} in a sequential manner.`,
    );
}

/** 409 on key restore while the name is in use or purged moments ago (recorded). */
export function keyRestoreConflict(versionedKid: string): KeyVaultError {
    return objectRestoreConflict("key", versionedKid);
}

/** 409 on certificate restore while the name is in use: the key's recorded text with "certificate" (an inference the SDK's retry matches). */
export function certificateRestoreConflict(versionedId: string): KeyVaultError {
    return objectRestoreConflict("certificate", versionedId);
}

/** 409 on create/import while a key or certificate of that name is soft-deleted (the secrets' recorded text, by analogy). */
export function deletedObjectNameInUse(kind: "Key" | "Certificate", name: string): KeyVaultError {
    const lower = kind.toLowerCase();
    return new KeyVaultError(
        409,
        "Conflict",
        `${kind} ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the ${lower} can only be recovered or purged.`,
    );
}

/** 403 on operations with a disabled key (by analogy with SecretDisabled; emulator wording). */
export function keyDisabled(operation: string): KeyVaultError {
    return new KeyVaultError(403, "Forbidden", `Operation ${operation} is not allowed on a disabled key.`, "KeyDisabled");
}

/** 400 for a key operation the key's kind or key_ops do not allow (emulator wording). */
export function keyOperationNotAllowed(operation: string, detail: string): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", `Operation ${operation} is not allowed on this key: ${detail}`);
}

/** 429: over the vault's request limits. No Retry-After, as recorded from the service. */
export function throttled(): KeyVaultError {
    return new KeyVaultError(
        429,
        "Throttled",
        "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
    );
}

/** 404 for a path the emulated API does not have. */
export function unknownPath(path: string): KeyVaultError {
    return new KeyVaultError(404, "NotFound", `The requested resource ${path} was not found.`);
}

/** 405 for a known path with a method it does not accept. */
export function methodNotAllowed(method: string, path: string): KeyVaultError {
    return new KeyVaultError(405, "MethodNotAllowed", `The requested method ${method} is not allowed on ${path}.`);
}

const STATUS_CODES: Record<number, string> = {
    400: "BadParameter",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    408: "RequestTimeout",
    409: "Conflict",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
};

/**
 * The answer to a scripted `status` fault: 429 is the service's Throttled; a 401 carries the bearer
 * challenge as every real 401 does (so the SDK re-authenticates once); others get the status's usual code.
 */
export function scriptedFault(status: number, challenge: string): KeyVaultError {
    if (status === 429) return throttled();
    const code = STATUS_CODES[status] ?? (status >= 500 ? "InternalServerError" : "BadRequest");
    return new KeyVaultError(status, code, `Scripted fault: the emulator answered ${status} on purpose.`, undefined, status === 401 ? { "www-authenticate": challenge } : {});
}
