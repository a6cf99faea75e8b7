/**
 * How a vault authenticates and authorizes a request, in the service's order: the bearer challenge
 * before anything else, then the token (signature, expiry, audience, issuer), then the network rule,
 * then the caller's permission for the operation.
 */
import type { Entra } from "./entra";
import * as errors from "./errors";
import { dataActionFor, type Principal, type SecretPermission } from "./principals";
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

/** Throws the service's 403 unless `principal` may do `permission` on `vault`. */
export function authorize(
    vault: VaultState,
    principal: Principal,
    permission: SecretPermission,
    tenantId: string,
    region: string,
    clientAddress: string,
    secretName?: string,
): void {
    const caller = { appId: principal.clientId, objectId: principal.objectId, tenantId };
    if (vault.firewall === "deny") throw errors.forbiddenByFirewall(caller, clientAddress, vault.name, region);
    const granted = vault.accessPolicies?.[principal.clientId] ?? principal.permissions;
    if (granted.includes(permission)) return;
    if (vault.accessModel === "rbac") {
        throw errors.forbiddenByRbac(caller, dataActionFor(permission), vault.name, region, rbacScope(vault.name, secretName));
    }
    throw errors.accessDenied(caller, permission, vault.name, region);
}

/** The ARM scope an RBAC 403 names: the vault, or one secret in it (the emulator's fixed subscription). */
export function rbacScope(vaultName: string, secretName?: string): string {
    const vault = `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/microsoft.keyvault/vaults/${vaultName}`;
    return secretName ? `${vault}/secrets/${secretName}` : vault;
}
