/**
 * How a vault authenticates and authorizes a request, in the service's order: the bearer challenge
 * before anything else, then the token (signature, expiry, audience, issuer), then the network rule,
 * then the caller's permission for the operation.
 */
import type { Entra } from "./entra";
import * as errors from "./errors";
import { dataActionFor, impliedPermissions, permissionsOf, type Needed, type ObjectKind, type PermissionSet, type Principal } from "./principals";
import type { VaultState } from "./store";

/** The resource the vault's tokens must be issued for. */
export const VAULT_AUDIENCE = "https://vault.azure.net";

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
    const check = await entra.verify(m[1], VAULT_AUDIENCE);
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
export function grantedIn(vault: VaultState, principal: Principal): PermissionSet {
    const policy = vault.accessPolicies?.[principal.clientId];
    if (policy === undefined) return permissionsOf(principal);
    return Array.isArray(policy) ? { secrets: policy, ...impliedPermissions(policy) } : policy;
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
