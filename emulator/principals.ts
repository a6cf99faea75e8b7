/**
 * Principals (service principals with a client secret) and the secret permissions an access
 * policy grants them. Every vault grants the same principals unless seeded otherwise.
 */
import { randomBytes, randomUUID } from "node:crypto";

/** The secret permissions of Key Vault's access-policy model. */
export const SECRET_PERMISSIONS = ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"] as const;

/** One secret permission. */
export type SecretPermission = (typeof SECRET_PERMISSIONS)[number];

/** A client that can get tokens: its app (client) id, secret, object id and default permissions. */
export interface Principal {
    clientId: string;
    clientSecret: string;
    objectId: string;
    permissions: SecretPermission[];
}

/** The RBAC data action that corresponds to a permission (for ForbiddenByRbac messages). */
export function dataActionFor(permission: SecretPermission): string {
    const actions: Record<SecretPermission, string> = {
        get: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        list: "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        set: "Microsoft.KeyVault/vaults/secrets/setSecret/action",
        delete: "Microsoft.KeyVault/vaults/secrets/delete",
        backup: "Microsoft.KeyVault/vaults/secrets/backup/action",
        restore: "Microsoft.KeyVault/vaults/secrets/restore/action",
        recover: "Microsoft.KeyVault/vaults/deletedSecrets/recover/action",
        purge: "Microsoft.KeyVault/vaults/deletedSecrets/delete",
    };
    return actions[permission];
}

/** A principal with fresh random credentials and the given permissions. */
export function newPrincipal(permissions: readonly SecretPermission[]): Principal {
    return {
        clientId: randomUUID(),
        clientSecret: randomBytes(24).toString("base64url"),
        objectId: randomUUID(),
        permissions: [...permissions],
    };
}

/** The two principals every vault grants by default: [0] every permission, [1] get and list only. */
export function defaultPrincipals(): Principal[] {
    return [newPrincipal(SECRET_PERMISSIONS), newPrincipal(["get", "list"])];
}

/** Checks a permission list from input (seed, data file); throws naming the bad entry. */
export function parsePermissions(value: unknown, where: string): SecretPermission[] {
    if (!Array.isArray(value)) throw new Error(`${where}: permissions must be an array of ${SECRET_PERMISSIONS.join(", ")}`);
    return value.map((p) => {
        const lower = String(p).toLowerCase();
        if (!(SECRET_PERMISSIONS as readonly string[]).includes(lower)) {
            throw new Error(`${where}: unknown secret permission "${String(p)}" (known: ${SECRET_PERMISSIONS.join(", ")})`);
        }
        return lower as SecretPermission;
    });
}
