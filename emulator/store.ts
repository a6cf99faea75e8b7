/**
 * The emulator's state (tenant, backup key, principals, vaults and their secrets), in memory and,
 * with a data folder, in one JSON file rewritten atomically after every change. A data file that
 * cannot be read back is an error at start, never a silently empty vault.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic-file";
import { parsePermissions, parsePolicy, type PermissionSet, type Principal, type SecretPermission } from "./principals";
import type { JsonWebKey } from "node:crypto";

/** What every version of every kind has: its id, tags and attributes (times in Unix seconds). */
export interface VersionAttributes {
    version: string;
    tags?: Record<string, string>;
    enabled: boolean;
    nbf?: number;
    exp?: number;
    created: number;
    updated: number;
}

/** One version of a secret, with its value and attributes. */
export interface SecretVersion extends VersionAttributes {
    value: string;
    contentType?: string;
}

/** When a soft-deleted object was deleted and will be purged; `visibleAt` (ms): until then it is not yet visible (the service's delete lag). */
export interface Deleted {
    deletedDate: number;
    scheduledPurgeDate: number;
    visibleAt?: number;
}

/** A secret: its versions oldest first and, when soft-deleted, when it was and will be purged. */
export interface SecretEntry {
    name: string;
    versions: SecretVersion[];
    deleted?: Deleted;
    /** True for the secret a certificate owns (same name and versions): write-like operations on it are refused. */
    managed?: boolean;
}

/** One version of a key: its private JWK (never sent out except inside a backup blob) and attributes. */
export interface KeyVersion extends VersionAttributes {
    /** The key material as a private JWK (RSA: n, e, d, p, q, dp, dq, qi; EC: crv, x, y, d). */
    jwk: JsonWebKey;
    /** The kty the caller asked for: "RSA", "EC", or an "-HSM" kind (kept as software keys). */
    kty: string;
    keyOps: string[];
    exportable?: boolean;
}

/** A key: versions oldest first; `managed` when a certificate owns it. */
export interface KeyEntry {
    name: string;
    versions: KeyVersion[];
    deleted?: Deleted;
    managed?: boolean;
}

/** One version of a certificate: the DER (base64), its thumbprint, the policy it was made with, attributes. */
export interface CertificateVersion extends VersionAttributes {
    /** Standard base64 of the certificate's DER. */
    cer: string;
    /** base64url SHA-1 thumbprint. */
    x5t: string;
    nbf: number;
    exp: number;
}

/** A pending create operation (issuer Self): it completes at `completeAt` (ms). */
export interface PendingOperation {
    requestId: string;
    csr: string;
    completeAt: number;
    /** What to install on completion: the version made at create time. */
    version: string;
    status: "inProgress" | "completed";
    /** Key, secret and certificate of the version, held until completion. */
    parts: { key: KeyVersion; secret: SecretVersion; certificate: CertificateVersion };
}

/** A certificate: versions oldest first, its current policy, and any pending create. */
export interface CertificateEntry {
    name: string;
    versions: CertificateVersion[];
    policy: Record<string, unknown>;
    policyUpdated: number;
    policyCreated: number;
    pending?: PendingOperation;
    deleted?: Deleted;
}

/** How a vault decides who may do what. */
export type AccessModel = "accessPolicy" | "rbac";

/** One vault's settings and secrets (keyed by lower-case name: Key Vault names are case-insensitive). */
export interface VaultState {
    name: string;
    recoverableDays: number;
    accessModel: AccessModel;
    /** `deny` refuses every caller with ForbiddenByFirewall (a vault whose network rules exclude the client). */
    firewall: "allow" | "deny";
    /** clientId -> permissions (a list: secret permissions, keys and certificates follow them); a principal not listed gets its own defaults. */
    accessPolicies?: Record<string, SecretPermission[] | PermissionSet>;
    secrets: Record<string, SecretEntry>;
    keys: Record<string, KeyEntry>;
    certificates: Record<string, CertificateEntry>;
    /** The port this vault last listened on; with `dataDir` a restart asks for it again so its URL stays the same. */
    port?: number;
    /** Names purged moments ago (lower-case; `keys/`, `certificates/` prefixed for those kinds) -> until when (ms) the name stays blocked (the service's purge lag). */
    purging?: Record<string, number>;
}

/** Everything the emulator keeps. */
export interface EmulatorState {
    tenantId: string;
    backupKey: string;
    principals: Principal[];
    vaults: Record<string, VaultState>;
    /** The authority (token) server's last port; with `dataDir` a restart asks for it again so AZURE_AUTHORITY_HOST stays valid. */
    authorityPort?: number;
    /** Backup of a certificate's key or secret: refused with 403 (default; a guess, see errors.ts) or allowed. */
    managedBackup?: "refuse" | "allow";
}

const FORMAT = "keyvault-emulator-state/1";

/** A new empty vault with the service's defaults (90 recoverable days, access policies, open network). */
export function newVault(name: string, overrides: Partial<Omit<VaultState, "name" | "secrets" | "keys" | "certificates">> = {}): VaultState {
    return { name, recoverableDays: 90, accessModel: "accessPolicy", firewall: "allow", secrets: {}, keys: {}, certificates: {}, ...overrides };
}

/** Keeps the state and writes it to `file` (when given) after every change. */
export class Store {
    private constructor(
        readonly state: EmulatorState,
        private readonly file?: string,
        /** True when the state was made now (not loaded from a data file). */
        readonly isNew = true,
    ) {}

    /** An in-memory store. */
    static memory(state: EmulatorState): Store {
        return new Store(state);
    }

    /**
     * The store kept in `dir/state.json`: loads it when present (throwing an error naming the
     * file when it is damaged), otherwise starts from `initial` and writes it.
     */
    static open(dir: string, initial: () => EmulatorState): Store {
        const file = path.join(dir, "state.json");
        try {
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            const why = code === "EEXIST" || code === "ENOTDIR" ? "it, or a folder above it, is a file" : (e as Error).message;
            throw new Error(`the emulator's data folder ${dir} cannot be used: ${why}. Give a folder (it is made when missing).`);
        }
        if (fs.existsSync(file)) return new Store(readStateFile(file), file, false);
        const store = new Store(initial(), file);
        store.save();
        return store;
    }

    /** Writes the state atomically (temp file, fsync, rename); the file holds secret values, so mode 0600. */
    save(): void {
        if (this.file) writeFileAtomic(this.file, JSON.stringify({ format: FORMAT, ...this.state }), 0o600);
    }
}

function readStateFile(file: string): EmulatorState {
    const fail = (why: string): never => {
        throw new Error(
            `the emulator's data file ${file} is damaged (${why}); nothing was loaded. Move it away to start with empty vaults, or restore it from a copy.`,
        );
    };
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        return fail((e as Error).message);
    }
    const s = parsed as Partial<EmulatorState> & { format?: unknown };
    if (!s || typeof s !== "object" || s.format !== FORMAT) return fail(`expected "format": "${FORMAT}"`);
    if (typeof s.tenantId !== "string" || typeof s.backupKey !== "string") return fail("tenantId or backupKey missing");
    if (!Array.isArray(s.principals) || !s.vaults || typeof s.vaults !== "object") return fail("principals or vaults missing");
    s.principals.forEach((p, i) => {
        if (typeof p?.clientId !== "string" || typeof p.clientSecret !== "string") fail(`principal ${i} has no clientId/clientSecret`);
        parsePermissions(p.permissions, `${file}: principal ${i}`);
        if (p.keyPermissions !== undefined) parsePermissions(p.keyPermissions, `${file}: principal ${i} keyPermissions`, "keys");
        if (p.certificatePermissions !== undefined) parsePermissions(p.certificatePermissions, `${file}: principal ${i} certificatePermissions`, "certificates");
    });
    for (const [name, v] of Object.entries(s.vaults)) {
        if (!v || typeof v.secrets !== "object" || v.name !== name) fail(`vault "${name}" is incomplete`);
        v.keys ??= {}; // data files from before keys and certificates
        v.certificates ??= {};
        for (const [id, policy] of Object.entries(v.accessPolicies ?? {})) parsePolicy(policy, `${file}: vault "${name}" accessPolicies.${id}`);
        for (const [key, e] of Object.entries(v.secrets)) {
            if (!Array.isArray(e?.versions) || e.versions.length === 0) fail(`secret "${key}" in vault "${name}" has no versions`);
            if (e.versions.some((x) => typeof x?.value !== "string" || typeof x.version !== "string")) {
                fail(`secret "${key}" in vault "${name}" has a version without value or id`);
            }
        }
    }
    const { format: _format, ...state } = s as EmulatorState & { format: string };
    return state;
}
