/**
 * Principals (service principals with a client secret) and the permissions an access policy grants
 * them, per object kind (secrets, keys, certificates). Every vault grants the same principals unless
 * seeded otherwise.
 */
import { randomBytes, randomUUID } from "node:crypto";

/** The secret permissions of Key Vault's access-policy model. */
const SECRET_PERMISSIONS = ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"] as const;
/** The key permissions of the access-policy model (management and cryptographic operations). */
const KEY_PERMISSIONS = [
    "get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "purge",
    "sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey",
] as const;
/** The certificate permissions of the access-policy model. */
const CERTIFICATE_PERMISSIONS = [
    "get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "purge",
    "managecontacts", "manageissuers", "getissuers", "listissuers", "setissuers", "deleteissuers",
] as const;

/** One secret permission. */
export type SecretPermission = (typeof SECRET_PERMISSIONS)[number];
/** One key permission. */
export type KeyPermission = (typeof KEY_PERMISSIONS)[number];
/** One certificate permission. */
export type CertificatePermission = (typeof CERTIFICATE_PERMISSIONS)[number];
/** The object kinds a vault holds, as access policies name them. */
export type ObjectKind = "secrets" | "keys" | "certificates";

/** Permissions for every kind. */
export interface PermissionSet {
    secrets: SecretPermission[];
    keys: KeyPermission[];
    certificates: CertificatePermission[];
}

/** What a route needs: a permission of one kind. */
export interface Needed {
    kind: ObjectKind;
    permission: string;
}

/**
 * A client that can get tokens: its app (client) id, secret, object id and default permissions.
 * `permissions` are the secret permissions; `keyPermissions`/`certificatePermissions`, when absent
 * (principals from seeds and data files of earlier versions), follow from them (see `permissionsOf`).
 */
export interface Principal {
    clientId: string;
    clientSecret: string;
    objectId: string;
    permissions: SecretPermission[];
    keyPermissions?: KeyPermission[];
    certificatePermissions?: CertificatePermission[];
}

const KINDS: Record<ObjectKind, readonly string[]> = { secrets: SECRET_PERMISSIONS, keys: KEY_PERMISSIONS, certificates: CERTIFICATE_PERMISSIONS };

/**
 * Key and certificate permissions implied by secret permissions alone: the same-named ones, and
 * `set` stands for every write (create, import, update and the cryptographic operations; for
 * certificates also the contact and issuer permissions). So every secret permission means every
 * permission of every kind, and get+list stays get+list.
 */
export function impliedPermissions(secrets: readonly SecretPermission[]): Omit<PermissionSet, "secrets"> {
    const pick = (all: readonly string[], writes: readonly string[]) =>
        all.filter((p) => (secrets as readonly string[]).includes(p) || (secrets.includes("set") && writes.includes(p)));
    return {
        keys: pick(KEY_PERMISSIONS, ["update", "create", "import", "sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey"]) as KeyPermission[],
        certificates: pick(CERTIFICATE_PERMISSIONS, ["update", "create", "import", "managecontacts", "manageissuers", "getissuers", "listissuers", "setissuers", "deleteissuers"]) as CertificatePermission[],
    };
}

/** A principal's default permissions of every kind. */
export function permissionsOf(p: Pick<Principal, "permissions" | "keyPermissions" | "certificatePermissions">): PermissionSet {
    const implied = impliedPermissions(p.permissions);
    return { secrets: p.permissions, keys: p.keyPermissions ?? implied.keys, certificates: p.certificatePermissions ?? implied.certificates };
}

const DATA_ACTIONS: Record<ObjectKind, Record<string, string>> = {
    secrets: {
        get: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        list: "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        set: "Microsoft.KeyVault/vaults/secrets/setSecret/action",
        delete: "Microsoft.KeyVault/vaults/secrets/delete",
        backup: "Microsoft.KeyVault/vaults/secrets/backup/action",
        restore: "Microsoft.KeyVault/vaults/secrets/restore/action",
        recover: "Microsoft.KeyVault/vaults/deletedSecrets/recover/action",
        purge: "Microsoft.KeyVault/vaults/deletedSecrets/delete",
    },
    keys: {
        get: "Microsoft.KeyVault/vaults/keys/read",
        list: "Microsoft.KeyVault/vaults/keys/read",
        update: "Microsoft.KeyVault/vaults/keys/write",
        create: "Microsoft.KeyVault/vaults/keys/create/action",
        import: "Microsoft.KeyVault/vaults/keys/import/action",
        delete: "Microsoft.KeyVault/vaults/keys/delete",
        recover: "Microsoft.KeyVault/vaults/keys/recover/action",
        backup: "Microsoft.KeyVault/vaults/keys/backup/action",
        restore: "Microsoft.KeyVault/vaults/keys/restore/action",
        purge: "Microsoft.KeyVault/vaults/keys/purge/action",
        sign: "Microsoft.KeyVault/vaults/keys/sign/action",
        verify: "Microsoft.KeyVault/vaults/keys/verify/action",
    },
    certificates: {
        get: "Microsoft.KeyVault/vaults/certificates/read",
        list: "Microsoft.KeyVault/vaults/certificates/read",
        update: "Microsoft.KeyVault/vaults/certificates/update/action",
        create: "Microsoft.KeyVault/vaults/certificates/create/action",
        import: "Microsoft.KeyVault/vaults/certificates/import/action",
        delete: "Microsoft.KeyVault/vaults/certificates/delete",
        recover: "Microsoft.KeyVault/vaults/certificates/recover/action",
        backup: "Microsoft.KeyVault/vaults/certificates/backup/action",
        restore: "Microsoft.KeyVault/vaults/certificates/restore/action",
        purge: "Microsoft.KeyVault/vaults/certificates/purge/action",
    },
};

/**
 * The RBAC data action that corresponds to a permission (for ForbiddenByRbac messages); `kind`
 * defaults to secrets. The backup/restore actions are recorded; the others follow Azure's list.
 */
export function dataActionFor(permission: string, kind: ObjectKind = "secrets"): string {
    return DATA_ACTIONS[kind][permission] ?? `Microsoft.KeyVault/vaults/${kind}/${permission}/action`;
}

/** A principal with fresh random credentials and the given secret permissions (keys and certificates follow them). */
function newPrincipal(permissions: readonly SecretPermission[]): Principal {
    const implied = impliedPermissions(permissions);
    return {
        clientId: randomUUID(),
        clientSecret: randomBytes(24).toString("base64url"),
        objectId: randomUUID(),
        permissions: [...permissions],
        keyPermissions: implied.keys,
        certificatePermissions: implied.certificates,
    };
}

/** The two principals every vault grants by default: [0] every permission of every kind, [1] get and list only. */
export function defaultPrincipals(): Principal[] {
    return [newPrincipal(SECRET_PERMISSIONS), newPrincipal(["get", "list"])];
}

/** Checks a permission list of `kind` (secrets by default) from input (seed, data file); throws naming the bad entry. */
export function parsePermissions(value: unknown, where: string): SecretPermission[];
export function parsePermissions<K extends ObjectKind>(value: unknown, where: string, kind: K): PermissionSet[K];
export function parsePermissions(value: unknown, where: string, kind: ObjectKind = "secrets"): string[] {
    const known = KINDS[kind];
    const singular = kind.slice(0, -1);
    if (!Array.isArray(value)) throw new Error(`${where}: permissions must be an array of ${known.join(", ")}`);
    return value.map((p) => {
        const found = known.find((k) => k.toLowerCase() === String(p).toLowerCase());
        if (!found) throw new Error(`${where}: unknown ${singular} permission "${String(p)}" (known: ${known.join(", ")})`);
        return found;
    });
}

/**
 * An access-policy entry from input: a list (secret permissions; keys and certificates follow
 * them as for principals) or `{ secrets?, keys?, certificates? }` (a kind left out grants nothing).
 */
export function parsePolicy(value: unknown, where: string): PermissionSet {
    if (Array.isArray(value)) {
        const secrets = parsePermissions(value, where);
        return { secrets, ...impliedPermissions(secrets) };
    }
    if (!value || typeof value !== "object") throw new Error(`${where}: expected a list of secret permissions or { secrets, keys, certificates }`);
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v)) if (!(k in KINDS)) throw new Error(`${where}: unknown kind "${k}" (known: secrets, keys, certificates)`);
    return {
        secrets: v.secrets === undefined ? [] : parsePermissions(v.secrets, `${where}.secrets`),
        keys: v.keys === undefined ? [] : parsePermissions(v.keys, `${where}.keys`, "keys"),
        certificates: v.certificates === undefined ? [] : parsePermissions(v.certificates, `${where}.certificates`, "certificates"),
    };
}
