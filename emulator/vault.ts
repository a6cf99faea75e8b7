/**
 * The secrets API's semantics on one vault's state: set, get, list, delete (soft), recover, purge,
 * backup and restore, as pure-ish functions that either return the service's response body or
 * throw the service's error. HTTP, authentication and permissions live elsewhere.
 */
import { randomUUID } from "node:crypto";
import * as errors from "./errors";
import type { BackupCodec } from "./backup-codec";
import type { SecretEntry, SecretVersion, VaultState } from "./store";

/** Secret names: 1-127 letters, digits and dashes. */
export const NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
/** The largest secret value the service stores: 25 KB. */
export const MAX_VALUE_BYTES = 25 * 1024;
/** Backup Secret refuses secrets with more versions than this. */
export const MAX_BACKUP_VERSIONS = 500;
/** Page sizes `maxresults` may ask for. */
export const MAX_PAGE = 25;

/** A vault's state with the base URL its ids are built on. */
export interface VaultContext {
    state: VaultState;
    baseUrl: string;
    /** The service's eventual consistency, off by default (see EmulatorOptions.lag). */
    lag?: Lag;
}

/** How long a deleted secret stays invisible (deleteMs) and a purged name stays blocked (purgeMs). */
export interface Lag {
    deleteMs?: number;
    purgeMs?: number;
}

/** Throws 409 while `name` was purged less than `lag.purgeMs` ago. */
function checkNotPurging(ctx: VaultContext, name: string, conflict: () => errors.KeyVaultError): void {
    const purging = ctx.state.purging;
    if (!purging) return;
    const nowMs = Date.now();
    for (const [k, until] of Object.entries(purging)) if (until <= nowMs) delete purging[k];
    if (purging[key(name)] !== undefined) throw conflict();
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

function key(name: string): string {
    return name.toLowerCase();
}

function attributes(v: SecretVersion, vault: VaultState): Json {
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

/** The SecretBundle of one version; `withValue: false` for restore's answer and list items. */
function bundle(ctx: VaultContext, e: SecretEntry, v: SecretVersion, withValue = true): Json {
    return {
        ...(withValue ? { value: v.value } : {}),
        ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
        id: versionedId(ctx, e.name, v.version),
        attributes: attributes(v, ctx.state),
        ...(v.tags ? { tags: v.tags } : {}),
    };
}

function deletedBundle(ctx: VaultContext, e: SecretEntry, withValue: boolean): Json {
    const latest = e.versions[e.versions.length - 1];
    return {
        ...bundle(ctx, e, latest, withValue),
        recoveryId: `${ctx.baseUrl}/deletedsecrets/${e.name}`,
        deletedDate: e.deleted?.deletedDate,
        scheduledPurgeDate: e.deleted?.scheduledPurgeDate,
    };
}

/**
 * Per secrets map, the earliest purge date (s) among its soft-deleted secrets when it was last
 * scanned: nothing expires before then, so most calls skip the scan (it read every secret of the
 * vault on every request, most of the emulator's CPU in a bulk backup of 1,000 secrets).
 * A map never scanned (new, or loaded from disk) has no entry and is scanned.
 */
const nextPurge = new WeakMap<object, number>();

/** Forgets soft-deleted secrets whose purge date has passed, as the service does. */
function expire(ctx: VaultContext, now: number): void {
    const secrets = ctx.state.secrets;
    if (now < (nextPurge.get(secrets) ?? -Infinity)) return;
    let next = Infinity;
    for (const k in secrets) {
        const purgeAt = secrets[k].deleted?.scheduledPurgeDate;
        if (purgeAt === undefined) continue;
        if (purgeAt <= now) delete secrets[k];
        else next = Math.min(next, purgeAt);
    }
    nextPurge.set(secrets, next);
}

/** Keeps `expire`'s bound true when a secret is soft-deleted with purge date `purgeAt`. */
function noteDeletion(ctx: VaultContext, purgeAt: number): void {
    const known = nextPurge.get(ctx.state.secrets);
    if (known !== undefined && purgeAt < known) nextPurge.set(ctx.state.secrets, purgeAt);
}

function active(ctx: VaultContext, name: string, now: number): SecretEntry {
    expire(ctx, now);
    const e = ctx.state.secrets[key(name)];
    if (!e || e.deleted) throw errors.secretNotFound(name);
    return e;
}

function deleted(ctx: VaultContext, name: string, now: number): SecretEntry {
    expire(ctx, now);
    const e = ctx.state.secrets[key(name)];
    if (!e?.deleted) throw errors.deletedSecretNotFound(name);
    if (e.deleted.visibleAt !== undefined && Date.now() < e.deleted.visibleAt) throw errors.deletedSecretNotFound(name);
    return e;
}

function optionalTime(v: unknown, what: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) throw errors.badParameter(`Property attributes.${what} must be a Unix time in seconds.`);
    return v;
}

function readTags(v: unknown): Record<string, string> | undefined {
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
    const v = findVersion(e, name, version);
    const attrs = body.attributes ?? {};
    if (attrs.enabled !== undefined) {
        if (typeof attrs.enabled !== "boolean") throw errors.badParameter("Property attributes.enabled must be a boolean.");
        v.enabled = attrs.enabled;
    }
    if (attrs.nbf !== undefined) v.nbf = optionalTime(attrs.nbf, "nbf");
    if (attrs.exp !== undefined) v.exp = optionalTime(attrs.exp, "exp");
    if (typeof body.contentType === "string") v.contentType = body.contentType;
    if (body.tags !== undefined) v.tags = readTags(body.tags);
    v.updated = now;
    return bundle(ctx, e, v, false);
}

/** A page of `items` after `skipToken`, with a nextLink for the rest. */
function page(items: Json[], maxResults: string | undefined, skipToken: string | undefined, linkBase: string, apiVersion: string): Json {
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

/** Paging parameters as read from the query. */
export interface PageQuery {
    maxResults?: string;
    skipToken?: string;
    apiVersion: string;
}

function byName(a: SecretEntry, b: SecretEntry): number {
    return a.name.toLowerCase().localeCompare(b.name.toLowerCase());
}

/** GET /secrets: every active secret (latest version's attributes, no value), by name. */
export function listSecrets(ctx: VaultContext, q: PageQuery, now: number): Json {
    expire(ctx, now);
    const items = Object.values(ctx.state.secrets)
        .filter((e) => !e.deleted)
        .sort(byName)
        .map((e) => ({ ...bundle(ctx, e, e.versions[e.versions.length - 1], false), id: `${ctx.baseUrl}/secrets/${e.name}` }));
    return page(items, q.maxResults, q.skipToken, `${ctx.baseUrl}/secrets`, q.apiVersion);
}

/** GET /secrets/{name}/versions: every version (no values), oldest first. */
export function listVersions(ctx: VaultContext, name: string, q: PageQuery, now: number): Json {
    checkName(name);
    expire(ctx, now);
    const e = ctx.state.secrets[key(name)];
    // The service answers an empty list, not 404, for a name it does not hold.
    const items = e && !e.deleted ? e.versions.map((v) => bundle(ctx, e, v, false)) : [];
    return page(items, q.maxResults, q.skipToken, `${ctx.baseUrl}/secrets/${name}/versions`, q.apiVersion);
}

/** GET /deletedsecrets: every soft-deleted secret. */
export function listDeleted(ctx: VaultContext, q: PageQuery, now: number): Json {
    expire(ctx, now);
    const items = Object.values(ctx.state.secrets)
        .filter((e) => e.deleted)
        .sort(byName)
        .map((e) => ({ ...deletedBundle(ctx, e, false), id: `${ctx.baseUrl}/secrets/${e.name}` }));
    return page(items, q.maxResults, q.skipToken, `${ctx.baseUrl}/deletedsecrets`, q.apiVersion);
}

/** DELETE /secrets/{name}: soft delete for the vault's `recoverableDays`. */
export function deleteSecret(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    e.deleted = { deletedDate: now, scheduledPurgeDate: now + ctx.state.recoverableDays * 86400 };
    noteDeletion(ctx, e.deleted.scheduledPurgeDate);
    if (ctx.lag?.deleteMs) e.deleted.visibleAt = Date.now() + ctx.lag.deleteMs;
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
    delete e.deleted;
    return bundle(ctx, e, e.versions[e.versions.length - 1], false);
}

/** DELETE /deletedsecrets/{name}: gone for good (204). */
export function purgeSecret(ctx: VaultContext, name: string, now: number): void {
    checkName(name);
    deleted(ctx, name, now);
    delete ctx.state.secrets[key(name)];
    if (ctx.lag?.purgeMs) (ctx.state.purging ??= {})[key(name)] = Date.now() + ctx.lag.purgeMs;
}

/** POST /secrets/{name}/backup: every version in one encrypted blob. */
export async function backupSecret(ctx: VaultContext, codec: BackupCodec, name: string, now: number): Promise<Json> {
    checkName(name);
    const e = active(ctx, name, now);
    if (e.versions.length > MAX_BACKUP_VERSIONS) {
        throw errors.tooManyVersions(e.name, e.versions.length, MAX_BACKUP_VERSIONS);
    }
    return { value: await codec.encode({ name: e.name, versions: e.versions }) };
}

/** POST /secrets/restore: recreates the secret with its original versions; 409 while the name is in use. */
export async function restoreSecret(ctx: VaultContext, codec: BackupCodec, blob: unknown, now: number): Promise<Json> {
    const payload = await codec.decode(blob);
    if (!NAME_PATTERN.test(payload.name)) throw errors.invalidBackupVersion();
    expire(ctx, now);
    const latest = payload.versions[payload.versions.length - 1];
    const conflict = () => errors.restoreConflict(versionedId(ctx, payload.name, latest.version));
    if (ctx.state.secrets[key(payload.name)]) throw conflict();
    checkNotPurging(ctx, payload.name, conflict);
    const entry: SecretEntry = { name: payload.name, versions: payload.versions.map((v) => ({ ...v })) };
    ctx.state.secrets[key(payload.name)] = entry;
    return bundle(ctx, entry, entry.versions[entry.versions.length - 1], false);
}
