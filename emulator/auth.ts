/**
 * How a vault authenticates and authorizes a request, in the service's order: the bearer challenge
 * before anything else, then the token (signature, expiry, audience, issuer), then the network rule,
 * then the caller's permission for the operation.
 */
import type { Entra, TokenCheck } from "./entra";
import * as errors from "./errors";
import { dataActionFor, impliedPermissions, permissionsOf, type Needed, type ObjectKind, type PermissionSet, type Principal } from "./principals";
import type { VaultState } from "./store";

/** The resource the vault's tokens must be issued for. */
const VAULT_AUDIENCE = "https://vault.azure.net";

/** The `WWW-Authenticate` value: the authority (whose path is the tenant) and the resource. */
export function challengeFor(authorityHost: string, tenantId: string): string {
    return `Bearer authorization="${authorityHost}/${tenantId}", resource="${VAULT_AUDIENCE}"`;
}

/** Returns the calling principal, or throws the service's 401 with the challenge. */
export async function authenticate(
    authorization: string | undefined,
    entra: Entra,
    principals: Principal[],
    challenge: string,
): Promise<Principal> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m) throw errors.missingToken(challenge);
    const check = await verifyOnce(entra, m[1]);
    if (!check.ok) {
        if (check.problem === "audience") throw errors.invalidAudience(challenge, check.found);
        if (check.problem === "issuer") throw errors.invalidIssuer(challenge, entra.issuer, check.found);
        if (check.problem === "expired") throw errors.tokenExpired(challenge);
        if (check.problem === "signature") throw errors.unknownSigningKey(challenge);
        throw errors.unknownCaller(challenge);
    }
    const principal = principals.find((p) => p.clientId === check.claims.appid);
    if (!principal) throw errors.unknownCaller(challenge);
    return principal;
}

/** What `principal` may do in `vault`: the vault's access policy for it, or its own defaults. */
function grantedIn(vault: VaultState, principal: Principal): PermissionSet {
    const policy = vault.accessPolicies?.[principal.clientId];
    if (policy === undefined) return permissionsOf(principal);
    return Array.isArray(policy) ? { secrets: policy, ...impliedPermissions(policy) } : policy;
}

/** At most this many verified tokens are remembered per Entra stand-in (a client reuses one token for an hour). */
const VERIFIED_CACHE_SIZE = 1000;
const verified = new WeakMap<Entra, Map<string, TokenCheck & { ok: true }>>();

/**
 * `entra.verify` for the vault's audience, remembering tokens that passed until they expire: the
 * signature, issuer and audience of a given token cannot change, so re-checking them on every
 * request (an RSA verification each) only costs CPU. Expiry is still checked on every request;
 * a token past it is verified afresh, which reports it expired. Failures are never remembered.
 */
async function verifyOnce(entra: Entra, token: string): Promise<TokenCheck> {
    let cache = verified.get(entra);
    if (!cache) verified.set(entra, (cache = new Map()));
    const known = cache.get(token);
    if (known && known.claims.exp > Date.now() / 1000) return known;
    cache.delete(token);
    const check = await entra.verify(token, VAULT_AUDIENCE);
    if (check.ok) {
        if (cache.size >= VERIFIED_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
        cache.set(token, check);
    }
    return check;
}

/** Throws the service's 403 unless `principal` may do `needed` (a permission of one kind) on `vault`. */
export function authorize(
    vault: VaultState,
    principal: Principal,
    needed: Needed,
    tenantId: string,
    region: string,
    clientAddress: string,
    objectName?: string,
): void {
    const caller = { appId: principal.clientId, objectId: principal.objectId, tenantId };
    if (vault.firewall === "deny") throw errors.forbiddenByFirewall(caller, clientAddress, vault.name, region);
    if ((grantedIn(vault, principal)[needed.kind] as string[]).includes(needed.permission)) return;
    if (vault.accessModel === "rbac") {
        throw errors.forbiddenByRbac(caller, dataActionFor(needed.permission, needed.kind), vault.name, region, rbacScope(vault.name, objectName, needed.kind));
    }
    throw errors.accessDenied(caller, needed.permission, vault.name, region, needed.kind);
}

/** The ARM scope an RBAC 403 names: the vault, or one object of `kind` in it (the emulator's fixed subscription). */
export function rbacScope(vaultName: string, objectName?: string, kind: ObjectKind = "secrets"): string {
    const vault = `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/microsoft.keyvault/vaults/${vaultName}`;
    return objectName ? `${vault}/${kind}/${objectName}` : vault;
}
