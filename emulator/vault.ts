/**
 * The secrets API's semantics on one vault's state: set, get, list, delete (soft), recover, purge,
 * backup and restore, as pure-ish functions that either return the service's response body or
 * throw the service's error; and the pieces keys.ts and certificates.ts share with it (names,
 * paging, soft-delete bookkeeping). HTTP, authentication and permissions live elsewhere.
 */
import { randomUUID } from "node:crypto";
import * as errors from "./errors";
import type { BackupCodec } from "./backup-codec";
import type { Deleted, SecretEntry, SecretVersion, VaultState } from "./store";

/** Secret names: 1-127 letters, digits and dashes. */
export const NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
/** The largest secret value the service stores: 25 KB. */
const MAX_VALUE_BYTES = 25 * 1024;
/** Backup Secret refuses secrets with more versions than this. */
export const MAX_BACKUP_VERSIONS = 500;
/** Page sizes `maxresults` may ask for. */
const MAX_PAGE = 25;

/** A vault's state with the base URL its ids are built on (from the request's host). */
export interface VaultContext {
    state: VaultState;
    baseUrl: string;
    /** The service's eventual consistency, off by default (see EmulatorOptions.lag). */
    lag?: Lag;
    /** Backup of a certificate's key or secret: refused (default) or allowed (EmulatorOptions.managedBackup). */
    managedBackup?: "refuse" | "allow";
    /** Certificate creation completes this many ms after the create request (default 0: at once). */
    certificateDelayMs?: number;
}

/** How long a deleted secret stays invisible (deleteMs) and a purged name stays blocked (purgeMs). */
export interface Lag {
    deleteMs?: number;
    purgeMs?: number;
}

/** Throws 409 while `name` was purged less than `lag.purgeMs` ago; `prefix` is "" for secrets, "keys/" or "certificates/". */
export function checkNotPurging(ctx: VaultContext, name: string, conflict: () => errors.KeyVaultError, prefix = ""): void {
    const purging = ctx.state.purging;
    if (!purging) return;
    const nowMs = Date.now();
    for (const [k, until] of Object.entries(purging)) if (until <= nowMs) delete purging[k];
    if (purging[prefix + key(name)] !== undefined) throw conflict();
}

/** Blocks `name` for `lag.purgeMs` after a purge (the service's purge lag). */
export function markPurged(ctx: VaultContext, name: string, prefix = ""): void {
    if (ctx.lag?.purgeMs) (ctx.state.purging ??= {})[prefix + key(name)] = Date.now() + ctx.lag.purgeMs;
}

/** The soft-delete record for an object deleted `now`, with the vault's purge date and the delete lag. */
export function deletion(ctx: VaultContext, now: number): Deleted {
    const d: Deleted = { deletedDate: now, scheduledPurgeDate: now + ctx.state.recoverableDays * 86400 };
    if (ctx.lag?.deleteMs) d.visibleAt = Date.now() + ctx.lag.deleteMs;
    // Keep expireIn's bound true for every kind (a certificate's delete also deletes its key and secret).
    for (const objects of [ctx.state.secrets, ctx.state.keys, ctx.state.certificates]) {
        const known = nextPurge.get(objects);
        if (known !== undefined && d.scheduledPurgeDate < known) nextPurge.set(objects, d.scheduledPurgeDate);
    }
    return d;
}

/**
 * Per map of one kind's objects, the earliest purge date (s) among its soft-deleted objects when it
 * was last scanned: nothing expires before then, so most calls skip the scan (it read every object
 * of the vault on every request, most of the emulator's CPU in a bulk backup of 1,000 secrets).
 * A map never scanned (new, or loaded from disk) has no entry and is scanned; `deletion` lowers it.
 */
const nextPurge = new WeakMap<object, number>();

/** Forgets soft-deleted objects of one kind whose purge date has passed, as the service does. */
export function expireIn(objects: Record<string, { deleted?: Deleted }>, now: number): void {
    if (now < (nextPurge.get(objects) ?? -Infinity)) return;
    let next = Infinity;
    for (const k in objects) {
        const purgeAt = objects[k].deleted?.scheduledPurgeDate;
        if (purgeAt === undefined) continue;
        if (purgeAt <= now) delete objects[k];
        else next = Math.min(next, purgeAt);
    }
    nextPurge.set(objects, next);
}

/** The active object `name` of one kind, or `notFound()`. */
export function activeIn<T extends { deleted?: Deleted }>(objects: Record<string, T>, name: string, now: number, notFound: () => errors.KeyVaultError): T {
    expireIn(objects, now);
    const e = objects[key(name)];
    if (!e || e.deleted) throw notFound();
    return e;
}

/** The soft-deleted object `name` of one kind (once the delete lag has passed), or `notFound()`. */
export function deletedIn<T extends { deleted?: Deleted }>(objects: Record<string, T>, name: string, now: number, notFound: () => errors.KeyVaultError): T {
    expireIn(objects, now);
    const e = objects[key(name)];
    if (!e?.deleted) throw notFound();
    if (e.deleted.visibleAt !== undefined && Date.now() < e.deleted.visibleAt) throw notFound();
    return e;
}

/** Body of a set request, as the service reads it. */
export interface SetBody {
    value?: unknown;
    contentType?: unknown;
    tags?: unknown;
    attributes?: { enabled?: unknown; nbf?: unknown; exp?: unknown };
}

type Json = Record<string, unknown>;

/** Throws 400 BadParameter unless `name` is a valid secret name. */
export function checkName(name: string): void {
    if (!NAME_PATTERN.test(name)) throw errors.invalidName(name);
}

/** The map key of a name: Key Vault names are case-insensitive. */
export function key(name: string): string {
    return name.toLowerCase();
}

/** Common attributes of every kind: enabled, nbf/exp when set, created/updated, recovery facts. */
export function commonAttributes(v: { enabled: boolean; nbf?: number; exp?: number; created: number; updated: number }, vault: VaultState): Json {
    return {
        enabled: v.enabled,
        ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
        ...(v.exp !== undefined ? { exp: v.exp } : {}),
        created: v.created,
        updated: v.updated,
        recoverableDays: vault.recoverableDays,
        recoveryLevel: "Recoverable+Purgeable",
    };
}


function versionedId(ctx: VaultContext, name: string, version: string): string {
    return `${ctx.baseUrl}/secrets/${name}/${version}`;
}

/** The SecretBundle of one version; `withValue: false` for restore's answer and list items. A certificate's secret carries `managed` and `kid`. */
function bundle(ctx: VaultContext, e: SecretEntry, v: SecretVersion, withValue = true): Json {
    return {
        ...(withValue ? { value: v.value } : {}),
        ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
        id: versionedId(ctx, e.name, v.version),
        attributes: commonAttributes(v, ctx.state),
        ...(v.tags ? { tags: v.tags } : {}),
        ...(e.managed ? { kid: `${ctx.baseUrl}/keys/${e.name}/${v.version}`, managed: true } : {}),
    };
}

function deletedBundle(ctx: VaultContext, e: SecretEntry, withValue: boolean): Json {
    const latest = e.versions[e.versions.length - 1];
    return { ...bundle(ctx, e, latest, withValue), ...deletedFacts(ctx, "deletedsecrets", e) };
}

function expire(ctx: VaultContext, now: number): void {
    expireIn(ctx.state.secrets, now);
}

function active(ctx: VaultContext, name: string, now: number): SecretEntry {
    return activeIn(ctx.state.secrets, name, now, () => errors.secretNotFound(name));
}

function deleted(ctx: VaultContext, name: string, now: number): SecretEntry {
    return deletedIn(ctx.state.secrets, name, now, () => errors.deletedSecretNotFound(name));
}

/** Throws 403 SecretManagedByKeyVault when `e` is a certificate's secret (see errors.secretManaged). */
function refuseManaged(e: SecretEntry | undefined, operation: string): void {
    if (e?.managed) throw errors.secretManaged(operation);
}

/** A Unix-seconds time from input, or undefined; 400 naming `attributes.<what>` otherwise. */
export function optionalTime(v: unknown, what: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) throw errors.badParameter(`Property attributes.${what} must be a Unix time in seconds.`);
    return v;
}

/** Tags from input (an object of strings), or undefined; 400 otherwise. */
export function readTags(v: unknown): Record<string, string> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((t) => typeof t !== "string")) {
        throw errors.badParameter("Property tags must be an object of string values.");
    }
    return { ...(v as Record<string, string>) };
}

/** PUT /secrets/{name}: adds a version (creating the secret); 409 while the name is soft-deleted. */
export function setSecret(ctx: VaultContext, name: string, body: SetBody, now: number): Json {
    checkName(name);
    if (typeof body.value !== "string") throw errors.badParameter("Property value is required and must be a string.");
    if (Buffer.byteLength(body.value, "utf8") > MAX_VALUE_BYTES) {
        throw errors.valueTooLarge(MAX_VALUE_BYTES);
    }
    if (body.contentType !== undefined && body.contentType !== null && typeof body.contentType !== "string") {
        throw errors.badParameter("Property contentType must be a string.");
    }
    const attrs = body.attributes ?? {};
    if (attrs.enabled !== undefined && typeof attrs.enabled !== "boolean") throw errors.badParameter("Property attributes.enabled must be a boolean.");
    expire(ctx, now);
    const existing = ctx.state.secrets[key(name)];
    refuseManaged(existing, "set");
    if (existing?.deleted) throw errors.deletedNameInUse(name);
    checkNotPurging(ctx, name, () => errors.beingDeleted(name));
    const version: SecretVersion = {
        version: randomUUID().replace(/-/g, ""),
        value: body.value,
        ...(typeof body.contentType === "string" ? { contentType: body.contentType } : {}),
        ...(readTags(body.tags) ? { tags: readTags(body.tags) } : {}),
        enabled: attrs.enabled !== false,
        nbf: optionalTime(attrs.nbf, "nbf"),
        exp: optionalTime(attrs.exp, "exp"),
        created: now,
        updated: now,
    };
    const entry = existing ?? { name, versions: [] };
    entry.versions.push(version);
    ctx.state.secrets[key(name)] = entry;
    return bundle(ctx, entry, version);
}

function findVersion(e: SecretEntry, name: string, version: string): SecretVersion {
    if (!version) return e.versions[e.versions.length - 1];
    const v = e.versions.find((x) => x.version === version.toLowerCase());
    if (!v) throw errors.secretNotFound(`${name}/${version}`);
    return v;
}

/** GET /secrets/{name}/{version?}: the value; 403 SecretDisabled for a disabled version. */
export function getSecret(ctx: VaultContext, name: string, version: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    const v = findVersion(e, name, version);
    if (!v.enabled) throw errors.secretDisabled("get");
    return bundle(ctx, e, v);
}

/** PATCH /secrets/{name}/{version?}: changes contentType, tags and attributes of one version. */
export function updateSecret(ctx: VaultContext, name: string, version: string, body: SetBody, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    refuseManaged(e, "update");
    const v = findVersion(e, name, version);
    updateAttributes(v, body.attributes ?? {}, now);
    if (typeof body.contentType === "string") v.contentType = body.contentType;
    if (body.tags !== undefined) v.tags = readTags(body.tags);
    return bundle(ctx, e, v, false);
}

/** A page of `items` after `skipToken`, with a nextLink for the rest. */
export function page(items: Json[], maxResults: string | undefined, skipToken: string | undefined, linkBase: string, apiVersion: string): Json {
    const size = maxResults === undefined ? MAX_PAGE : Number(maxResults);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
        throw errors.badParameter(`Invalid value for maxresults: ${maxResults}. It must be an integer between 1 and ${MAX_PAGE}.`);
    }
    let offset = 0;
    if (skipToken !== undefined) {
        try {
            offset = (JSON.parse(Buffer.from(skipToken, "base64url").toString("utf8")) as { offset: number }).offset;
        } catch {
            offset = NaN;
        }
        if (!Number.isInteger(offset) || offset < 0) throw errors.badParameter("The $skiptoken is invalid.");
    }
    const value = items.slice(offset, offset + size);
    const next = offset + size;
    const token = Buffer.from(JSON.stringify({ offset: next })).toString("base64url");
    const nextLink = next < items.length ? `${linkBase}?api-version=${apiVersion}&$skiptoken=${token}&maxresults=${size}` : null;
    return { value, nextLink };
}

/**
 * A page of one kind's objects by name (`path` is "secrets", "deletedkeys", ...): the active ones,
 * or with `deleted` the soft-deleted ones once the delete lag has passed; `include` narrows further.
 */
export function objectsPage<T extends { name: string; deleted?: Deleted }>(
    ctx: VaultContext,
    objects: Record<string, T>,
    deleted: boolean,
    toItem: (e: T) => Json,
    path: string,
    q: PageQuery,
    now: number,
    include: (e: T) => boolean = () => true,
): Json {
    expireIn(objects, now);
    const shown = (e: T) => (deleted ? !!e.deleted && (e.deleted.visibleAt === undefined || Date.now() >= e.deleted.visibleAt) : !e.deleted);
    const items = Object.values(objects).filter((e) => shown(e) && include(e)).sort(byName).map(toItem);
    return page(items, q.maxResults, q.skipToken, `${ctx.baseUrl}/${path}`, q.apiVersion);
}

/** A page of the versions of one object, oldest first; empty (not 404) for a name the vault does not hold, as the service answers. */
export function versionsPage<V, T extends { name: string; deleted?: Deleted; versions: V[] }>(
    ctx: VaultContext,
    objects: Record<string, T>,
    name: string,
    toItem: (e: T, v: V) => Json,
    kindPath: string,
    q: PageQuery,
    now: number,
): Json {
    checkName(name);
    expireIn(objects, now);
    const e = objects[key(name)];
    const items = e && !e.deleted ? e.versions.map((v) => toItem(e, v)) : [];
    return page(items, q.maxResults, q.skipToken, `${ctx.baseUrl}/${kindPath}/${name}/versions`, q.apiVersion);
}

/** The soft-delete facts a deleted bundle or item adds: recoveryId, deletedDate, scheduledPurgeDate. */
export function deletedFacts(ctx: VaultContext, deletedPath: string, e: { name: string; deleted?: Deleted }): Json {
    return { recoveryId: `${ctx.baseUrl}/${deletedPath}/${e.name}`, deletedDate: e.deleted?.deletedDate, scheduledPurgeDate: e.deleted?.scheduledPurgeDate };
}

/** Applies `attributes.enabled/nbf/exp` from an update request to one version and stamps `updated`; 400 for bad values. */
export function updateAttributes(v: { enabled: boolean; nbf?: number; exp?: number; updated: number }, attrs: { enabled?: unknown; nbf?: unknown; exp?: unknown }, now: number): void {
    if (attrs.enabled !== undefined) {
        if (typeof attrs.enabled !== "boolean") throw errors.badParameter("Property attributes.enabled must be a boolean.");
        v.enabled = attrs.enabled;
    }
    if (attrs.nbf !== undefined) v.nbf = optionalTime(attrs.nbf, "nbf");
    if (attrs.exp !== undefined) v.exp = optionalTime(attrs.exp, "exp");
    v.updated = now;
}

/** Paging parameters as read from the query. */
export interface PageQuery {
    maxResults?: string;
    skipToken?: string;
    apiVersion: string;
}

/** Orders objects by name, case-insensitively. */
function byName(a: { name: string }, b: { name: string }): number {
    return a.name.toLowerCase().localeCompare(b.name.toLowerCase());
}

/** GET /secrets: every active secret (latest version's attributes, no value), by name. */
export function listSecrets(ctx: VaultContext, q: PageQuery, now: number): Json {
    const toItem = (e: SecretEntry) => ({ ...bundle(ctx, e, e.versions[e.versions.length - 1], false), id: `${ctx.baseUrl}/secrets/${e.name}` });
    return objectsPage(ctx, ctx.state.secrets, false, toItem, "secrets", q, now);
}

/** GET /secrets/{name}/versions: every version (no values), oldest first. */
export function listVersions(ctx: VaultContext, name: string, q: PageQuery, now: number): Json {
    return versionsPage(ctx, ctx.state.secrets, name, (e, v: SecretVersion) => bundle(ctx, e, v, false), "secrets", q, now);
}

/** GET /deletedsecrets: every soft-deleted secret. */
export function listDeleted(ctx: VaultContext, q: PageQuery, now: number): Json {
    return objectsPage(ctx, ctx.state.secrets, true, (e) => ({ ...deletedBundle(ctx, e, false), id: `${ctx.baseUrl}/secrets/${e.name}` }), "deletedsecrets", q, now);
}

/** DELETE /secrets/{name}: soft delete for the vault's `recoverableDays`. */
export function deleteSecret(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    refuseManaged(e, "delete");
    e.deleted = deletion(ctx, now);
    return deletedBundle(ctx, e, false);
}

/** GET /deletedsecrets/{name}. */
export function getDeleted(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    return deletedBundle(ctx, deleted(ctx, name, now), false);
}

/** POST /deletedsecrets/{name}/recover: back to active, latest version's bundle without value. */
export function recoverSecret(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = deleted(ctx, name, now);
    refuseManaged(e, "recover");
    delete e.deleted;
    return bundle(ctx, e, e.versions[e.versions.length - 1], false);
}

/** DELETE /deletedsecrets/{name}: gone for good (204). */
export function purgeSecret(ctx: VaultContext, name: string, now: number): void {
    checkName(name);
    refuseManaged(deleted(ctx, name, now), "purge");
    delete ctx.state.secrets[key(name)];
    markPurged(ctx, name);
}

/** POST /secrets/{name}/backup: every version in one encrypted blob. */
export async function backupSecret(ctx: VaultContext, codec: BackupCodec, name: string, now: number): Promise<Json> {
    checkName(name);
    const e = active(ctx, name, now);
    if (ctx.managedBackup !== "allow") refuseManaged(e, "backup");
    if (e.versions.length > MAX_BACKUP_VERSIONS) {
        throw errors.tooManyVersions(e.name, e.versions.length, MAX_BACKUP_VERSIONS);
    }
    return { value: await codec.encode({ name: e.name, versions: e.versions, ...(e.managed ? { managed: true } : {}) }) };
}

/** POST /secrets/restore: recreates the secret with its original versions; 409 while the name is in use. */
export async function restoreSecret(ctx: VaultContext, codec: BackupCodec, blob: unknown, now: number): Promise<Json> {
    const payload = await codec.decode(blob);
    if (!NAME_PATTERN.test(payload.name)) throw errors.invalidBackupVersion();
    expire(ctx, now);
    const latest = payload.versions[payload.versions.length - 1];
    const conflict = () => errors.restoreConflict(versionedId(ctx, payload.name, latest.version));
    refuseManaged(ctx.state.secrets[key(payload.name)], "restore");
    if (ctx.state.secrets[key(payload.name)]) throw conflict();
    checkNotPurging(ctx, payload.name, conflict);
    const entry: SecretEntry = { name: payload.name, versions: payload.versions.map((v) => ({ ...v })), ...(payload.managed ? { managed: true } : {}) };
    ctx.state.secrets[key(payload.name)] = entry;
    return bundle(ctx, entry, entry.versions[entry.versions.length - 1], false);
}
