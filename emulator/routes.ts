/**
 * The secrets, keys and certificates APIs' routes: which operation a method and path are, the
 * permission (of which kind) it needs, whether it counts as a creation for throttling, and the
 * function that answers it. Secret operations are named as before ("backup", "restore", ...); key
 * and certificate operations carry their kind ("key.backup", "certificate.create", ...), in the
 * request log and for scripted faults.
 */
import * as errors from "./errors";
import type { BackupCodec } from "./backup-codec";
import type { Needed, ObjectKind } from "./principals";
import * as vault from "./vault";
import * as keys from "./keys";
import * as certificates from "./certificates";

/** What a route's handler gets. */
export interface RouteInput {
    ctx: vault.VaultContext;
    codec: BackupCodec;
    body: Record<string, unknown>;
    query: vault.PageQuery;
    now: number;
}

/** A matched route. `status` is the success status; `mutates` means the store must be saved. */
export interface Route {
    operation: string;
    permission: Needed;
    creation: boolean;
    mutates: boolean;
    status: number;
    /** The name the request is about, for 403 messages on RBAC vaults. */
    name?: string;
    run(input: RouteInput): Promise<unknown> | unknown;
}

type Def = Omit<Route, "name" | "run" | "status" | "creation" | "mutates" | "permission"> &
    Partial<Pick<Route, "status" | "creation" | "mutates">> & {
        method: string;
        pattern: RegExp;
        permission: string;
        /** The kind whose permission it needs (default secrets). */
        kind?: ObjectKind;
        /** False for routes about no one object (lists, restore): RBAC 403s then name the vault. */
        named?: boolean;
        run(input: RouteInput, m: string[]): Promise<unknown> | unknown;
    };

const SEG = "([^/]+)";
const VER = "(?:/([^/]*))?";
const K = "keys" as const;
const C = "certificates" as const;
const DEFS: Def[] = [
    { method: "GET", pattern: /^\/secrets\/?$/, operation: "list", permission: "list", run: (i) => vault.listSecrets(i.ctx, i.query, i.now) },
    { method: "POST", pattern: /^\/secrets\/restore\/?$/, operation: "restore", permission: "restore", creation: true, mutates: true, run: (i) => vault.restoreSecret(i.ctx, i.codec, i.body.value, i.now) },
    { method: "GET", pattern: new RegExp(`^/secrets/${SEG}/versions/?$`), operation: "versions", permission: "list", run: (i, m) => vault.listVersions(i.ctx, m[1], i.query, i.now) },
    { method: "POST", pattern: new RegExp(`^/secrets/${SEG}/backup/?$`), operation: "backup", permission: "backup", run: (i, m) => vault.backupSecret(i.ctx, i.codec, m[1], i.now) },
    { method: "PUT", pattern: new RegExp(`^/secrets/${SEG}/?$`), operation: "set", permission: "set", creation: true, mutates: true, run: (i, m) => vault.setSecret(i.ctx, m[1], i.body, i.now) },
    { method: "DELETE", pattern: new RegExp(`^/secrets/${SEG}/?$`), operation: "delete", permission: "delete", mutates: true, run: (i, m) => vault.deleteSecret(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/secrets/${SEG}(?:/([^/]*))?$`), operation: "get", permission: "get", run: (i, m) => vault.getSecret(i.ctx, m[1], m[2] ?? "", i.now) },
    { method: "PATCH", pattern: new RegExp(`^/secrets/${SEG}(?:/([^/]*))?$`), operation: "update", permission: "set", mutates: true, run: (i, m) => vault.updateSecret(i.ctx, m[1], m[2] ?? "", i.body, i.now) },
    { method: "GET", pattern: /^\/deletedsecrets\/?$/, operation: "listDeleted", permission: "list", run: (i) => vault.listDeleted(i.ctx, i.query, i.now) },
    { method: "POST", pattern: new RegExp(`^/deletedsecrets/${SEG}/recover/?$`), operation: "recover", permission: "recover", mutates: true, run: (i, m) => vault.recoverSecret(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/deletedsecrets/${SEG}/?$`), operation: "getDeleted", permission: "list", run: (i, m) => vault.getDeleted(i.ctx, m[1], i.now) },
    { method: "DELETE", pattern: new RegExp(`^/deletedsecrets/${SEG}/?$`), operation: "purge", permission: "purge", mutates: true, status: 204, run: (i, m) => vault.purgeSecret(i.ctx, m[1], i.now) },

    { method: "GET", pattern: /^\/keys\/?$/, operation: "key.list", kind: K, permission: "list", run: (i) => keys.listKeys(i.ctx, i.query, i.now) },
    { method: "POST", pattern: /^\/keys\/restore\/?$/, operation: "key.restore", kind: K, permission: "restore", creation: true, mutates: true, run: (i) => keys.restoreKey(i.ctx, i.codec, i.body.value, i.now) },
    { method: "GET", pattern: new RegExp(`^/keys/${SEG}/versions/?$`), operation: "key.versions", kind: K, permission: "list", run: (i, m) => keys.listKeyVersions(i.ctx, m[1], i.query, i.now) },
    { method: "POST", pattern: new RegExp(`^/keys/${SEG}/create/?$`), operation: "key.create", kind: K, permission: "create", creation: true, mutates: true, run: (i, m) => keys.createKey(i.ctx, m[1], i.body, i.now) },
    { method: "POST", pattern: new RegExp(`^/keys/${SEG}/backup/?$`), operation: "key.backup", kind: K, permission: "backup", run: (i, m) => keys.backupKey(i.ctx, i.codec, m[1], i.now) },
    { method: "POST", pattern: new RegExp(`^/keys/${SEG}/([^/]*)/sign/?$`), operation: "key.sign", kind: K, permission: "sign", run: (i, m) => keys.signWithKey(i.ctx, m[1], m[2], i.body, i.now) },
    { method: "POST", pattern: new RegExp(`^/keys/${SEG}/([^/]*)/verify/?$`), operation: "key.verify", kind: K, permission: "verify", run: (i, m) => keys.verifyWithKey(i.ctx, m[1], m[2], i.body, i.now) },
    { method: "PUT", pattern: new RegExp(`^/keys/${SEG}/?$`), operation: "key.import", kind: K, permission: "import", creation: true, mutates: true, run: (i, m) => keys.importKey(i.ctx, m[1], i.body, i.now) },
    { method: "DELETE", pattern: new RegExp(`^/keys/${SEG}/?$`), operation: "key.delete", kind: K, permission: "delete", mutates: true, run: (i, m) => keys.deleteKey(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/keys/${SEG}${VER}$`), operation: "key.get", kind: K, permission: "get", run: (i, m) => keys.getKey(i.ctx, m[1], m[2] ?? "", i.now) },
    { method: "PATCH", pattern: new RegExp(`^/keys/${SEG}${VER}$`), operation: "key.update", kind: K, permission: "update", mutates: true, run: (i, m) => keys.updateKey(i.ctx, m[1], m[2] ?? "", i.body, i.now) },
    { method: "GET", pattern: /^\/deletedkeys\/?$/, operation: "key.listDeleted", kind: K, permission: "list", run: (i) => keys.listDeletedKeys(i.ctx, i.query, i.now) },
    { method: "POST", pattern: new RegExp(`^/deletedkeys/${SEG}/recover/?$`), operation: "key.recover", kind: K, permission: "recover", mutates: true, run: (i, m) => keys.recoverKey(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/deletedkeys/${SEG}/?$`), operation: "key.getDeleted", kind: K, permission: "list", run: (i, m) => keys.getDeletedKey(i.ctx, m[1], i.now) },
    { method: "DELETE", pattern: new RegExp(`^/deletedkeys/${SEG}/?$`), operation: "key.purge", kind: K, permission: "purge", mutates: true, status: 204, run: (i, m) => keys.purgeKey(i.ctx, m[1], i.now) },

    { method: "GET", pattern: /^\/certificates\/?$/, operation: "certificate.list", kind: C, permission: "list", run: (i) => certificates.listCertificates(i.ctx, i.query, i.now) },
    { method: "POST", pattern: /^\/certificates\/restore\/?$/, operation: "certificate.restore", kind: C, permission: "restore", creation: true, mutates: true, run: (i) => certificates.restoreCertificate(i.ctx, i.codec, i.body.value, i.now) },
    { method: "GET", pattern: new RegExp(`^/certificates/${SEG}/versions/?$`), operation: "certificate.versions", kind: C, permission: "list", run: (i, m) => certificates.listCertificateVersions(i.ctx, m[1], i.query, i.now) },
    { method: "POST", pattern: new RegExp(`^/certificates/${SEG}/create/?$`), operation: "certificate.create", kind: C, permission: "create", creation: true, mutates: true, run: (i, m) => certificates.createCertificate(i.ctx, m[1], i.body, i.now, i.query.apiVersion) },
    { method: "POST", pattern: new RegExp(`^/certificates/${SEG}/import/?$`), operation: "certificate.import", kind: C, permission: "import", creation: true, mutates: true, run: (i, m) => certificates.importCertificate(i.ctx, m[1], i.body, i.now) },
    { method: "POST", pattern: new RegExp(`^/certificates/${SEG}/backup/?$`), operation: "certificate.backup", kind: C, permission: "backup", run: (i, m) => certificates.backupCertificate(i.ctx, i.codec, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/certificates/${SEG}/pending/?$`), operation: "certificate.pending", kind: C, permission: "get", run: (i, m) => certificates.getPending(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/certificates/${SEG}/policy/?$`), operation: "certificate.policy", kind: C, permission: "get", run: (i, m) => certificates.getPolicy(i.ctx, m[1], i.now) },
    { method: "PATCH", pattern: new RegExp(`^/certificates/${SEG}/policy/?$`), operation: "certificate.updatePolicy", kind: C, permission: "update", mutates: true, run: (i, m) => certificates.updatePolicy(i.ctx, m[1], i.body, i.now) },
    { method: "DELETE", pattern: new RegExp(`^/certificates/${SEG}/?$`), operation: "certificate.delete", kind: C, permission: "delete", mutates: true, run: (i, m) => certificates.deleteCertificate(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/certificates/${SEG}${VER}$`), operation: "certificate.get", kind: C, permission: "get", run: (i, m) => certificates.getCertificate(i.ctx, m[1], m[2] ?? "", i.now) },
    { method: "PATCH", pattern: new RegExp(`^/certificates/${SEG}${VER}$`), operation: "certificate.update", kind: C, permission: "update", mutates: true, run: (i, m) => certificates.updateCertificate(i.ctx, m[1], m[2] ?? "", i.body, i.now) },
    { method: "GET", pattern: /^\/deletedcertificates\/?$/, operation: "certificate.listDeleted", kind: C, permission: "list", run: (i) => certificates.listDeletedCertificates(i.ctx, i.query, i.now) },
    { method: "POST", pattern: new RegExp(`^/deletedcertificates/${SEG}/recover/?$`), operation: "certificate.recover", kind: C, permission: "recover", mutates: true, run: (i, m) => certificates.recoverCertificate(i.ctx, m[1], i.now) },
    { method: "GET", pattern: new RegExp(`^/deletedcertificates/${SEG}/?$`), operation: "certificate.getDeleted", kind: C, permission: "list", run: (i, m) => certificates.getDeletedCertificate(i.ctx, m[1], i.now) },
    { method: "DELETE", pattern: new RegExp(`^/deletedcertificates/${SEG}/?$`), operation: "certificate.purge", kind: C, permission: "purge", mutates: true, status: 204, run: (i, m) => certificates.purgeCertificate(i.ctx, m[1], i.now) },
];

/** The route for `method` and `path` (no query); throws 404/405 as the service would for others. */
function matchRoute(method: string, path: string): Route {
    let pathMatched = false;
    for (const d of DEFS) {
        const m = d.pattern.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (d.method !== method) continue;
        const parts = m.map((s) => (s === undefined ? s : safeDecode(s)));
        const unnamed = d.named === false || /(^|\.)(restore|list\w*)$/.test(d.operation);
        return {
            operation: d.operation,
            permission: { kind: d.kind ?? "secrets", permission: d.permission },
            creation: d.creation ?? false,
            mutates: d.mutates ?? false,
            status: d.status ?? 200,
            name: unnamed ? undefined : parts[1],
            run: (input) => d.run(input, parts),
        };
    }
    throw pathMatched ? errors.methodNotAllowed(method, path) : errors.unknownPath(path);
}

/**
 * The route for a request, or the error `matchRoute` throws for it, returned rather than thrown:
 * the log records the operation at once, the error is answered only after authentication.
 */
export function routeOf(method: string, path: string): Route | Error {
    try {
        return matchRoute(method, path);
    } catch (e) {
        return e as Error;
    }
}

function safeDecode(s: string): string {
    try {
        return decodeURIComponent(s);
    } catch {
        return s;
    }
}
