/**
 * The keys API's semantics on one vault's state: create, import, get, update, list (and versions),
 * delete (soft), recover, purge, backup, restore, sign and verify. Private key material never
 * leaves except inside a backup blob. Keys a certificate owns (`managed`) refuse write-like
 * operations with 403 KeyManagedByKeyVault.
 */
import { randomUUID } from "node:crypto";
import * as errors from "./errors";
import type { BackupCodec } from "./backup-codec";
import type { KeyEntry, KeyVersion } from "./store";
import { family, generateJwk, keySize, publicPart, readPrivateJwk, signDigest, verifyDigest } from "./key-crypto";
import {
    activeIn, checkName, checkNotPurging, commonAttributes, deletedFacts, deletedIn, deletion, expireIn, key, markPurged,
    MAX_BACKUP_VERSIONS, NAME_PATTERN, objectsPage, optionalTime, readTags, updateAttributes, versionsPage, type PageQuery, type VaultContext,
} from "./vault";

type Json = Record<string, unknown>;

/** Prefix of keys' entries in the purge-lag map. */
const PURGING = "keys/";
/** The operations a key allows when the request names none. */
const DEFAULT_OPS = { RSA: ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"], EC: ["sign", "verify"] };
const KNOWN_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"];

/** Body of create, import and update requests, as the service reads it. */
export interface KeyBody {
    kty?: unknown;
    key_size?: unknown;
    crv?: unknown;
    key_ops?: unknown;
    key?: unknown;
    Hsm?: unknown;
    tags?: unknown;
    attributes?: { enabled?: unknown; nbf?: unknown; exp?: unknown; exportable?: unknown };
}

/** The versioned key id. */
export function keyId(ctx: VaultContext, name: string, version: string): string {
    return `${ctx.baseUrl}/keys/${name}/${version}`;
}

/** The KeyBundle of one version: the public JWK with kid, attributes, tags, `managed` for a certificate's key. */
function keyBundle(ctx: VaultContext, e: KeyEntry, v: KeyVersion): Json {
    return {
        key: { kid: keyId(ctx, e.name, v.version), kty: v.kty, key_ops: v.keyOps, ...publicPart(v.jwk) },
        attributes: attributes(ctx, v),
        ...(v.tags ? { tags: v.tags } : {}),
        ...(e.managed ? { managed: true } : {}),
    };
}

function attributes(ctx: VaultContext, v: KeyVersion): Json {
    const size = keySize(v.jwk);
    // 2025-07-01 answers add exportable, key_size and hsmPlatform; older clients ignore them.
    return { ...commonAttributes(v, ctx.state), exportable: v.exportable ?? false, ...(size ? { key_size: size } : {}), hsmPlatform: "0" };
}

function item(ctx: VaultContext, e: KeyEntry, v: KeyVersion, versioned: boolean): Json {
    return {
        kid: versioned ? keyId(ctx, e.name, v.version) : `${ctx.baseUrl}/keys/${e.name}`,
        attributes: attributes(ctx, v),
        ...(v.tags ? { tags: v.tags } : {}),
        ...(e.managed ? { managed: true } : {}),
    };
}

function latest(e: KeyEntry): KeyVersion {
    return e.versions[e.versions.length - 1];
}

function deletedBundle(ctx: VaultContext, e: KeyEntry): Json {
    return { ...deletedFacts(ctx, "deletedkeys", e), ...keyBundle(ctx, e, latest(e)) };
}

function active(ctx: VaultContext, name: string, now: number): KeyEntry {
    return activeIn(ctx.state.keys, name, now, () => errors.keyNotFound(name));
}

function deleted(ctx: VaultContext, name: string, now: number): KeyEntry {
    return deletedIn(ctx.state.keys, name, now, () => errors.deletedKeyNotFound(name));
}

function refuseManaged(e: KeyEntry | undefined, operation: string): void {
    if (e?.managed) throw errors.keyManaged(operation);
}

function findVersion(e: KeyEntry, name: string, version: string): KeyVersion {
    if (!version) return latest(e);
    const v = e.versions.find((x) => x.version === version.toLowerCase());
    if (!v) throw errors.keyNotFound(`${name}/${version}`);
    return v;
}

function readOps(value: unknown, fallback: string[]): string[] {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value) || value.some((o) => !KNOWN_OPS.includes(o as string))) {
        throw errors.badParameter(`Property key_ops must be a list of ${KNOWN_OPS.join(", ")}.`);
    }
    return [...(value as string[])];
}

function readAttributes(body: KeyBody): { enabled: boolean; nbf?: number; exp?: number; exportable?: boolean } {
    const attrs = body.attributes ?? {};
    if (attrs.enabled !== undefined && typeof attrs.enabled !== "boolean") throw errors.badParameter("Property attributes.enabled must be a boolean.");
    return {
        enabled: attrs.enabled !== false,
        nbf: optionalTime(attrs.nbf, "nbf"),
        exp: optionalTime(attrs.exp, "exp"),
        ...(attrs.exportable === true ? { exportable: true } : {}),
    };
}

/** Adds a version to key `name` (creating the key); 409 while the name is soft-deleted, 403 for a certificate's key. */
function addVersion(ctx: VaultContext, name: string, build: () => Omit<KeyVersion, "version" | "created" | "updated">, operation: string, now: number): Json {
    checkName(name);
    expireIn(ctx.state.keys, now);
    const existing = ctx.state.keys[key(name)];
    refuseManaged(existing, operation);
    if (existing?.deleted) throw errors.deletedObjectNameInUse("Key", name);
    const version: KeyVersion = { version: randomUUID().replace(/-/g, ""), ...build(), created: now, updated: now };
    const entry = existing ?? { name, versions: [] };
    entry.versions.push(version);
    ctx.state.keys[key(name)] = entry;
    return keyBundle(ctx, entry, version);
}

/** POST /keys/{name}/create: a new RSA or EC key version ("-HSM" kinds are software keys here). */
export function createKey(ctx: VaultContext, name: string, body: KeyBody, now: number): Json {
    return addVersion(ctx, name, () => {
        if (typeof body.kty !== "string" || !family(body.kty)) throw errors.badParameter("Property kty is required and must be one of RSA, RSA-HSM, EC, EC-HSM.");
        if (body.key_size !== undefined && !Number.isInteger(body.key_size)) throw errors.badParameter("Property key_size must be an integer.");
        if (body.crv !== undefined && typeof body.crv !== "string") throw errors.badParameter("Property crv must be a string.");
        let jwk;
        try {
            jwk = generateJwk(body.kty, body.key_size as number | undefined, body.crv as string | undefined);
        } catch (e) {
            throw errors.badParameter(`${(e as Error).message}.`);
        }
        const f = family(body.kty)!;
        const tags = readTags(body.tags);
        return { jwk, kty: body.kty, keyOps: readOps(body.key_ops, DEFAULT_OPS[f]), ...(tags ? { tags } : {}), ...readAttributes(body) };
    }, "create", now);
}

/** PUT /keys/{name}: imports a private JWK as a new version. */
export function importKey(ctx: VaultContext, name: string, body: KeyBody, now: number): Json {
    return addVersion(ctx, name, () => {
        let jwk;
        try {
            jwk = readPrivateJwk(body.key);
        } catch (e) {
            throw errors.badParameter(`Property key: ${(e as Error).message}.`);
        }
        const given = (body.key as { key_ops?: unknown }).key_ops;
        const f = jwk.kty as "RSA" | "EC";
        const tags = readTags(body.tags);
        return { jwk, kty: body.Hsm === true ? `${f}-HSM` : f, keyOps: readOps(given, DEFAULT_OPS[f]), ...(tags ? { tags } : {}), ...readAttributes(body) };
    }, "import", now);
}

/** GET /keys/{name}/{version?}: the public part and attributes. */
export function getKey(ctx: VaultContext, name: string, version: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    return keyBundle(ctx, e, findVersion(e, name, version));
}

/** PATCH /keys/{name}/{version?}: key_ops, attributes and tags of one version. */
export function updateKey(ctx: VaultContext, name: string, version: string, body: KeyBody, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    refuseManaged(e, "update");
    const v = findVersion(e, name, version);
    updateAttributes(v, body.attributes ?? {}, now);
    if (body.key_ops !== undefined) v.keyOps = readOps(body.key_ops, v.keyOps);
    if (body.tags !== undefined) v.tags = readTags(body.tags);
    return keyBundle(ctx, e, v);
}

/** GET /keys: every active key (latest version's attributes), by name. */
export function listKeys(ctx: VaultContext, q: PageQuery, now: number): Json {
    return objectsPage(ctx, ctx.state.keys, false, (e) => item(ctx, e, latest(e), false), "keys", q, now);
}

/** GET /keys/{name}/versions: every version, oldest first (empty for an unknown name). */
export function listKeyVersions(ctx: VaultContext, name: string, q: PageQuery, now: number): Json {
    return versionsPage(ctx, ctx.state.keys, name, (e, v: KeyVersion) => item(ctx, e, v, true), "keys", q, now);
}

/** GET /deletedkeys: every soft-deleted key. */
export function listDeletedKeys(ctx: VaultContext, q: PageQuery, now: number): Json {
    return objectsPage(ctx, ctx.state.keys, true, (e) => ({ ...item(ctx, e, latest(e), false), ...deletedFacts(ctx, "deletedkeys", e) }), "deletedkeys", q, now);
}

/** DELETE /keys/{name}: soft delete; 403 for a certificate's key (recorded). */
export function deleteKey(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    refuseManaged(e, "delete");
    e.deleted = deletion(ctx, now);
    return deletedBundle(ctx, e);
}

/** GET /deletedkeys/{name}. */
export function getDeletedKey(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    return deletedBundle(ctx, deleted(ctx, name, now));
}

/** POST /deletedkeys/{name}/recover: back to active; the latest version's bundle. */
export function recoverKey(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = deleted(ctx, name, now);
    refuseManaged(e, "recover");
    delete e.deleted;
    return keyBundle(ctx, e, latest(e));
}

/** DELETE /deletedkeys/{name}: gone for good (204). */
export function purgeKey(ctx: VaultContext, name: string, now: number): void {
    checkName(name);
    refuseManaged(deleted(ctx, name, now), "purge");
    delete ctx.state.keys[key(name)];
    markPurged(ctx, name, PURGING);
}

/** POST /keys/{name}/backup: every version, private parts included, in one encrypted blob. */
export async function backupKey(ctx: VaultContext, codec: BackupCodec, name: string, now: number): Promise<Json> {
    checkName(name);
    const e = active(ctx, name, now);
    if (ctx.managedBackup !== "allow") refuseManaged(e, "backup");
    if (e.versions.length > MAX_BACKUP_VERSIONS) throw errors.tooManyVersions(e.name, e.versions.length, MAX_BACKUP_VERSIONS);
    return { value: await codec.encodeObject("key", { name: e.name, versions: e.versions, ...(e.managed ? { managed: true } : {}) }) };
}

/** Reads a key backup's payload; 400 Malformed backup blob when it is not one. */
export function readKeyPayload(p: Record<string, unknown>): { name: string; versions: KeyVersion[]; managed?: boolean } {
    const ok = (v: KeyVersion) =>
        typeof v?.version === "string" && typeof v.kty === "string" && !!v.jwk && typeof v.jwk === "object" && Array.isArray(v.keyOps) &&
        typeof v.created === "number" && typeof v.updated === "number";
    const versions = p.versions as KeyVersion[];
    if (typeof p.name !== "string" || !NAME_PATTERN.test(p.name) || !Array.isArray(versions) || !versions.length || !versions.every(ok)) {
        throw errors.invalidBackupVersion();
    }
    return { name: p.name, versions, ...(p.managed ? { managed: true } : {}) };
}

/** POST /keys/restore: the key with its original versions, ids and dates; 409 while the name is in use or purging. */
export async function restoreKey(ctx: VaultContext, codec: BackupCodec, blob: unknown, now: number): Promise<Json> {
    const payload = readKeyPayload(await codec.decodeObject("key", blob));
    expireIn(ctx.state.keys, now);
    const conflict = () => errors.keyRestoreConflict(keyId(ctx, payload.name, payload.versions[payload.versions.length - 1].version));
    const existing = ctx.state.keys[key(payload.name)];
    refuseManaged(existing, "restore");
    if (existing) throw conflict();
    checkNotPurging(ctx, payload.name, conflict, PURGING);
    const entry: KeyEntry = { name: payload.name, versions: payload.versions.map((v) => ({ ...v })), ...(payload.managed ? { managed: true } : {}) };
    ctx.state.keys[key(payload.name)] = entry;
    return keyBundle(ctx, entry, latest(entry));
}

function usable(ctx: VaultContext, name: string, version: string, op: "sign" | "verify", now: number): { e: KeyEntry; v: KeyVersion } {
    checkName(name);
    const e = active(ctx, name, now);
    const v = findVersion(e, name, version);
    if (!v.enabled) throw errors.keyDisabled(op);
    if (!v.keyOps.includes(op)) throw errors.keyOperationNotAllowed(op, `its key_ops are ${v.keyOps.join(", ") || "empty"}`);
    return { e, v };
}

function readBytes(value: unknown, what: string): Buffer {
    if (typeof value !== "string" || !/^[A-Za-z0-9_-]*={0,2}$/.test(value)) throw errors.badParameter(`Property ${what} is required and must be base64url.`);
    return Buffer.from(value, "base64url");
}

/** POST /keys/{name}/{version}/sign: `{alg, value: base64url digest}` -> `{kid, value: signature}`. */
export function signWithKey(ctx: VaultContext, name: string, version: string, body: Json, now: number): Json {
    const { e, v } = usable(ctx, name, version, "sign", now);
    const digest = readBytes(body.value, "value");
    try {
        return { kid: keyId(ctx, e.name, v.version), value: signDigest(v.jwk, String(body.alg), digest).toString("base64url") };
    } catch (err) {
        throw errors.badParameter(`${(err as Error).message}.`);
    }
}

/** POST /keys/{name}/{version}/verify: `{alg, digest, value: signature}` -> `{value: boolean}`. */
export function verifyWithKey(ctx: VaultContext, name: string, version: string, body: Json, now: number): Json {
    const { v } = usable(ctx, name, version, "verify", now);
    const digest = readBytes(body.digest, "digest");
    const signature = readBytes(body.value, "value");
    try {
        return { value: verifyDigest(v.jwk, String(body.alg), digest, signature) };
    } catch (err) {
        throw errors.badParameter(`${(err as Error).message}.`);
    }
}
