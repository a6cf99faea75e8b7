/**
 * The certificates API's semantics on one vault's state: create (issuer Self, a pending operation
 * completing at once or after `certificateDelayMs`), import (PFX or PEM), get, policy, update, list
 * (and versions), delete (soft), recover, purge, backup and restore. Every certificate version owns
 * a key and a secret of the same name and version (`managed: true`), which go with it through
 * delete, recover, purge, backup and restore.
 */
import { randomUUID } from "node:crypto";
import * as errors from "./errors";
import { Reply } from "./http";
import type { BackupCodec } from "./backup-codec";
import type { CertificateEntry, CertificateVersion, KeyEntry, KeyVersion, PendingOperation, SecretEntry, SecretVersion } from "./store";
import { describe, issueSelfSigned, PEM, PKCS12, readImport, secretValue, thumbprint } from "./certificate-issuer";
import { family, keySize } from "./key-crypto";
import { readKeyPayload } from "./keys";
import {
    activeIn, checkName, checkNotPurging, commonAttributes, deletedFacts, deletedIn, deletion, expireIn, key, markPurged, NAME_PATTERN,
    objectsPage, readTags, updateAttributes, versionsPage, type PageQuery, type VaultContext,
} from "./vault";

type Json = Record<string, unknown>;


const PURGING = "certificates/";
const RETRY_AFTER = "10";
const IN_PROGRESS =
    "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** The versioned certificate id. */
function certId(ctx: VaultContext, name: string, version: string): string {
    return `${ctx.baseUrl}/certificates/${name}/${version}`;
}

function latest(e: CertificateEntry): CertificateVersion {
    return e.versions[e.versions.length - 1];
}

function certAttributes(ctx: VaultContext, v: CertificateVersion): Json {
    return commonAttributes(v, ctx.state);
}

/** The policy as the service answers it: the stored policy with its id and attributes. */
function policyBody(ctx: VaultContext, e: CertificateEntry): Json {
    return {
        id: `${ctx.baseUrl}/certificates/${e.name}/policy`,
        ...e.policy,
        attributes: { enabled: true, created: e.policyCreated, updated: e.policyUpdated },
    };
}

function bundle(ctx: VaultContext, e: CertificateEntry, v: CertificateVersion, withPolicy = true): Json {
    return {
        id: certId(ctx, e.name, v.version),
        kid: `${ctx.baseUrl}/keys/${e.name}/${v.version}`,
        sid: `${ctx.baseUrl}/secrets/${e.name}/${v.version}`,
        x5t: v.x5t,
        cer: v.cer,
        attributes: certAttributes(ctx, v),
        ...(withPolicy ? { policy: policyBody(ctx, e) } : {}),
        ...(v.tags ? { tags: v.tags } : {}),
        pending: { id: `${ctx.baseUrl}/certificates/${e.name}/pending` },
    };
}

function item(ctx: VaultContext, e: CertificateEntry, v: CertificateVersion, versioned: boolean): Json {
    return {
        id: versioned ? certId(ctx, e.name, v.version) : `${ctx.baseUrl}/certificates/${e.name}`,
        x5t: v.x5t,
        attributes: certAttributes(ctx, v),
        ...(v.tags ? { tags: v.tags } : {}),
    };
}

function deletedBundle(ctx: VaultContext, e: CertificateEntry): Json {
    return { ...deletedFacts(ctx, "deletedcertificates", e), ...bundle(ctx, e, latest(e)) };
}

/** Installs a pending operation whose time has come: the version, its key and its secret; true when it did. */
function settle(ctx: VaultContext, e: CertificateEntry): boolean {
    const p = e.pending;
    if (!p || p.status === "completed" || Date.now() < p.completeAt) return false;
    install(ctx, e, p.parts);
    p.status = "completed";
    return true;
}

/** Adds one version to the certificate and its managed key and secret. */
function install(ctx: VaultContext, e: CertificateEntry, parts: PendingOperation["parts"]): void {
    e.versions.push(parts.certificate);
    const k: KeyEntry = ctx.state.keys[key(e.name)] ?? { name: e.name, versions: [], managed: true };
    k.versions.push(parts.key);
    ctx.state.keys[key(e.name)] = k;
    const s: SecretEntry = ctx.state.secrets[key(e.name)] ?? { name: e.name, versions: [], managed: true };
    s.versions.push(parts.secret);
    ctx.state.secrets[key(e.name)] = s;
}

/** Completes every pending create whose time has come (the vault pipeline calls it before each operation); true when one did. */
export function settleAll(ctx: VaultContext, now: number): boolean {
    expireIn(ctx.state.certificates, now);
    let changed = false;
    for (const e of Object.values(ctx.state.certificates)) if (!e.deleted && settle(ctx, e)) changed = true;
    return changed;
}

function active(ctx: VaultContext, name: string, now: number): CertificateEntry {
    const e = activeIn(ctx.state.certificates, name, now, () => errors.certificateNotFound(name));
    settle(ctx, e);
    if (!e.versions.length) throw errors.certificateNotFound(name);
    return e;
}

function deleted(ctx: VaultContext, name: string, now: number, notFound = () => errors.deletedCertificateNotFound(name)): CertificateEntry {
    return deletedIn(ctx.state.certificates, name, now, notFound);
}

function findVersion(e: CertificateEntry, name: string, version: string): CertificateVersion {
    if (!version) return latest(e);
    const v = e.versions.find((x) => x.version === version.toLowerCase());
    if (!v) throw errors.certificateNotFound(`${name}/${version}`);
    return v;
}

/**
 * Refuses a certificate name whose key or secret is an ordinary (unmanaged) object: the
 * certificate could not own them. Emulator wording; the service's answer is not recorded.
 */
function checkNameFree(ctx: VaultContext, name: string, now: number): void {
    expireIn(ctx.state.keys, now);
    expireIn(ctx.state.secrets, now);
    for (const [kind, obj] of [["key", ctx.state.keys[key(name)]], ["secret", ctx.state.secrets[key(name)]]] as const) {
        if (obj && !obj.managed) {
            throw new errors.KeyVaultError(409, "Conflict", `A ${kind} named ${name} already exists; a certificate's key and secret take its name. Use another certificate name.`);
        }
    }
}

type Policy = Record<string, Record<string, unknown> | unknown>;

/** The policy with the service's defaults filled in (recorded: RSA 2048, exportable, PKCS#12, server+client auth, 12 months, AutoRenew at 80 %). */
function completePolicy(given: unknown, issuer = "Self"): Policy {
    const p = (given && typeof given === "object" ? given : {}) as Record<string, Record<string, unknown> | undefined>;
    const keyProps = { ...(p.key_props ?? {}) };
    const kty = (keyProps.kty as string | undefined) ?? "RSA";
    if (!family(kty)) throw errors.badParameter(`Property policy.key_props.kty must be one of RSA, RSA-HSM, EC, EC-HSM.`);
    const isEc = family(kty) === "EC";
    const x509 = { ...(p.x509_props ?? {}) };
    if (x509.subject !== undefined && typeof x509.subject !== "string") throw errors.badParameter("Property policy.x509_props.subject must be a string.");
    const sans = (x509.sans ?? {}) as Record<string, unknown>;
    const contentType = ((p.secret_props ?? {}).contentType as string | undefined) ?? PKCS12;
    if (contentType !== PKCS12 && contentType !== PEM) throw errors.badParameter(`Property policy.secret_props.contentType must be ${PKCS12} or ${PEM}.`);
    const validity = (x509.validity_months as number | undefined) ?? 12;
    if (!Number.isInteger(validity) || validity < 1) throw errors.badParameter("Property policy.x509_props.validity_months must be a positive integer.");
    return {
        key_props: {
            exportable: keyProps.exportable ?? true,
            kty,
            ...(isEc ? { crv: keyProps.crv ?? "P-256" } : { key_size: keyProps.key_size ?? 2048 }),
            reuse_key: keyProps.reuse_key ?? false,
        },
        secret_props: { contentType },
        x509_props: {
            subject: x509.subject ?? "",
            ...(Object.keys(sans).length ? { sans } : {}),
            ekus: x509.ekus ?? [SERVER_AUTH, CLIENT_AUTH],
            key_usage: x509.key_usage ?? (isEc ? ["digitalSignature"] : ["digitalSignature", "keyEncipherment"]),
            validity_months: validity,
            basic_constraints: { ca: false },
        },
        lifetime_actions: (p as Policy).lifetime_actions ?? [{ trigger: { lifetime_percentage: 80 }, action: { action_type: issuer === "Self" ? "AutoRenew" : "EmailContacts" } }],
        issuer: { name: issuer, ...((p.issuer ?? {}) as object), ...(issuer !== "Self" ? { name: issuer } : {}) },
    };
}

/** `months` calendar months after `from` (Unix seconds), less one second, as the service's `exp`. */
function addMonths(from: number, months: number): number {
    const d = new Date(from * 1000);
    d.setUTCMonth(d.getUTCMonth() + months);
    return Math.floor(d.getTime() / 1000) - 1;
}

/** The three parts of one version from a key and certificate. */
function partsOf(version: string, jwk: KeyVersion["jwk"], certDer: Buffer, policy: Policy, attrs: { enabled: boolean; nbf: number; exp: number }, tags: Record<string, string> | undefined, now: number): PendingOperation["parts"] {
    const keyProps = policy.key_props as { kty: string; exportable?: boolean };
    const contentType = (policy.secret_props as { contentType: string }).contentType;
    const times = { enabled: attrs.enabled, nbf: attrs.nbf, exp: attrs.exp, created: now, updated: now };
    const f = family(keyProps.kty)!;
    return {
        certificate: { version, cer: certDer.toString("base64"), x5t: thumbprint(certDer), ...(tags ? { tags } : {}), ...times },
        key: { version, jwk, kty: keyProps.kty, keyOps: f === "RSA" ? ["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"] : ["sign", "verify"], exportable: keyProps.exportable !== false, ...times },
        secret: { version, value: secretValue(contentType, jwk, certDer), contentType, ...(tags ? { tags } : {}), ...times },
    };
}

function pendingBody(ctx: VaultContext, e: CertificateEntry): Json {
    const p = e.pending!;
    return {
        id: `${ctx.baseUrl}/certificates/${e.name}/pending`,
        issuer: { name: "Self" },
        csr: p.csr,
        cancellation_requested: false,
        status: p.status,
        ...(p.status === "inProgress" ? { status_details: IN_PROGRESS } : { target: `${ctx.baseUrl}/certificates/${e.name}` }),
        request_id: p.requestId,
    };
}

/** Looks up (or starts) the entry for a new version; 409 while soft-deleted, 403-free names only. */
function entryForNewVersion(ctx: VaultContext, name: string, now: number): CertificateEntry | undefined {
    checkName(name);
    expireIn(ctx.state.certificates, now);
    const existing = ctx.state.certificates[key(name)];
    if (existing?.deleted) throw errors.deletedObjectNameInUse("Certificate", name);
    if (existing) settle(ctx, existing);
    checkNameFree(ctx, name, now);
    return existing;
}

/** POST /certificates/{name}/create: 202 with Location and Retry-After; the version appears when the operation completes. */
export async function createCertificate(ctx: VaultContext, name: string, body: Json, now: number, apiVersion: string): Promise<Reply> {
    const existing = entryForNewVersion(ctx, name, now);
    const policyIn = body.policy as Record<string, Record<string, unknown>> | undefined;
    const issuer = (policyIn?.issuer?.name as string | undefined) ?? "Self";
    if (issuer !== "Self") throw errors.badParameter(`Issuer ${issuer} is not emulated; use issuer Self (self-signed) or import the certificate.`);
    const policy = completePolicy(policyIn, "Self");
    const x509 = policy.x509_props as { subject: string; sans?: { dns_names?: string[]; emails?: string[]; upns?: string[] }; ekus: string[]; key_usage: string[]; validity_months: number };
    if (!x509.subject && !x509.sans) throw errors.badParameter("Property policy.x509_props needs a subject or sans.");
    const keyProps = policy.key_props as { kty: string; key_size?: number; crv?: string };
    const attrsIn = (body.attributes ?? {}) as { enabled?: unknown };
    const nbf = now - 600;
    const exp = addMonths(now, x509.validity_months);
    let issued;
    try {
        issued = await issueSelfSigned({
            kty: keyProps.kty, keySize: keyProps.key_size, crv: keyProps.crv,
            subject: x509.subject || `CN=${x509.sans?.dns_names?.[0] ?? name}`,
            dnsNames: x509.sans?.dns_names ?? [], emails: x509.sans?.emails ?? [], upns: x509.sans?.upns ?? [],
            ekus: x509.ekus, keyUsage: x509.key_usage,
            notBefore: new Date(nbf * 1000), notAfter: new Date(exp * 1000),
        });
    } catch (e) {
        throw errors.badParameter(`The policy cannot be issued: ${(e as Error).message}.`);
    }
    const version = randomUUID().replace(/-/g, "");
    const tags = readTags(body.tags);
    const entry: CertificateEntry = existing ?? { name, versions: [], policy, policyCreated: now, policyUpdated: now };
    entry.policy = policy;
    entry.policyUpdated = now;
    entry.pending = {
        requestId: randomUUID().replace(/-/g, ""),
        csr: issued.csrDer.toString("base64"),
        completeAt: Date.now() + (ctx.certificateDelayMs ?? 0),
        version,
        status: "inProgress",
        parts: partsOf(version, issued.jwk, issued.certDer, policy, { enabled: attrsIn.enabled !== false, nbf, exp }, tags, now),
    };
    ctx.state.certificates[key(name)] = entry;
    const answer = pendingBody(ctx, entry); // as recorded: 202 says inProgress even when it completes at once
    settle(ctx, entry);
    return new Reply(202, answer, {
        location: `${ctx.baseUrl}/certificates/${name}/pending?api-version=${apiVersion}&request_id=${entry.pending.requestId}`,
        "retry-after": RETRY_AFTER,
    });
}

/** GET /certificates/{name}/pending: the operation; Retry-After while in progress. */
export function getPending(ctx: VaultContext, name: string, now: number): Reply {
    checkName(name);
    expireIn(ctx.state.certificates, now);
    const e = ctx.state.certificates[key(name)];
    if (!e || e.deleted || !e.pending) throw errors.pendingNotFound(name);
    settle(ctx, e);
    return new Reply(200, pendingBody(ctx, e), e.pending.status === "inProgress" ? { "retry-after": RETRY_AFTER } : {});
}

/** POST /certificates/{name}/import: a PFX (base64, `pwd` optional) or PEM; policy from the request or the certificate. */
export function importCertificate(ctx: VaultContext, name: string, body: Json, now: number): Json {
    const existing = entryForNewVersion(ctx, name, now);
    if (typeof body.value !== "string") throw errors.badParameter("Property value is required: a base64 PFX or a PEM.");
    if (body.pwd !== undefined && typeof body.pwd !== "string") throw errors.badParameter("Property pwd must be a string.");
    let imported;
    try {
        imported = readImport(body.value, body.pwd as string | undefined);
    } catch (e) {
        throw errors.badParameter(`The certificate cannot be imported: ${(e as Error).message}.`);
    }
    const facts = describe(imported.certDer);
    const policyIn = (body.policy ?? {}) as Record<string, Record<string, unknown>>;
    const crv = imported.jwk.crv;
    const policy = completePolicy(
        {
            ...policyIn,
            key_props: { kty: imported.jwk.kty, ...(crv ? { crv } : { key_size: keySize(imported.jwk) }), ...(policyIn.key_props ?? {}) },
            secret_props: { contentType: imported.contentType, ...(policyIn.secret_props ?? {}) },
            x509_props: {
                subject: facts.subject,
                ...(facts.dnsNames.length ? { sans: { dns_names: facts.dnsNames } } : {}),
                ekus: facts.ekus,
                key_usage: facts.keyUsage,
                validity_months: Math.max(1, Math.round((facts.notAfter - facts.notBefore) / (30.4375 * 86400))),
                ...(policyIn.x509_props ?? {}),
            },
        },
        "Unknown",
    );
    const attrsIn = (body.attributes ?? {}) as { enabled?: unknown };
    const version = randomUUID().replace(/-/g, "");
    const entry: CertificateEntry = existing ?? { name, versions: [], policy, policyCreated: now, policyUpdated: now };
    entry.policy = policy;
    entry.policyUpdated = now;
    install(ctx, entry, partsOf(version, imported.jwk, imported.certDer, policy, { enabled: attrsIn.enabled !== false, nbf: facts.notBefore, exp: facts.notAfter }, readTags(body.tags), now));
    ctx.state.certificates[key(name)] = entry;
    return bundle(ctx, entry, latest(entry));
}

/** GET /certificates/{name}/{version?}. */
export function getCertificate(ctx: VaultContext, name: string, version: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    return bundle(ctx, e, findVersion(e, name, version));
}

/** GET /certificates/{name}/policy. */
export function getPolicy(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    return policyBody(ctx, active(ctx, name, now));
}

/** PATCH /certificates/{name}/policy: merges the given sections into the policy. */
export function updatePolicy(ctx: VaultContext, name: string, body: Json, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    const merged: Json = { ...e.policy };
    for (const [k, v] of Object.entries(body)) {
        if (k === "id" || k === "attributes") continue;
        merged[k] = v && typeof v === "object" && !Array.isArray(v) ? { ...(e.policy[k] as object), ...(v as object) } : v;
    }
    e.policy = completePolicy(merged, ((merged.issuer as { name?: string }) ?? {}).name ?? "Self");
    e.policyUpdated = now;
    return policyBody(ctx, e);
}

/** PATCH /certificates/{name}/{version?}: attributes and tags of one version (its key and secret follow). */
export function updateCertificate(ctx: VaultContext, name: string, version: string, body: Json, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    const v = findVersion(e, name, version);
    const attrs = (body.attributes ?? {}) as { enabled?: unknown; nbf?: unknown; exp?: unknown };
    const related = [v, ...[ctx.state.keys[key(name)], ctx.state.secrets[key(name)]].map((o) => (o?.versions as (KeyVersion | SecretVersion)[] | undefined)?.find((x) => x.version === v.version))];
    // enabled follows to the key and secret; nbf/exp are the certificate's own (its validity), so they are not taken here
    for (const target of related) if (target) updateAttributes(target, { enabled: attrs.enabled }, now);
    if (body.tags !== undefined) v.tags = readTags(body.tags);
    return bundle(ctx, e, v);
}

/** GET /certificates: every certificate with at least one version (latest's facts), by name. */
export function listCertificates(ctx: VaultContext, q: PageQuery, now: number): Json {
    return objectsPage(ctx, ctx.state.certificates, false, (e) => item(ctx, e, latest(e), false), "certificates", q, now, (e) => e.versions.length > 0);
}

/** GET /certificates/{name}/versions: every version, oldest first. */
export function listCertificateVersions(ctx: VaultContext, name: string, q: PageQuery, now: number): Json {
    return versionsPage(ctx, ctx.state.certificates, name, (e, v: CertificateVersion) => item(ctx, e, v, true), "certificates", q, now);
}

/** GET /deletedcertificates. */
export function listDeletedCertificates(ctx: VaultContext, q: PageQuery, now: number): Json {
    const toItem = (e: CertificateEntry) => ({ ...item(ctx, e, latest(e), false), ...deletedFacts(ctx, "deletedcertificates", e) });
    return objectsPage(ctx, ctx.state.certificates, true, toItem, "deletedcertificates", q, now, (e) => e.versions.length > 0);
}

/** The certificate's key and secret entries (present once a version is installed). */
function owned(ctx: VaultContext, name: string): (KeyEntry | SecretEntry)[] {
    return [ctx.state.keys[key(name)], ctx.state.secrets[key(name)]].filter((o): o is KeyEntry | SecretEntry => !!o?.managed);
}

/** DELETE /certificates/{name}: soft delete of the certificate, its key and its secret. */
export function deleteCertificate(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = active(ctx, name, now);
    e.deleted = deletion(ctx, now);
    delete e.pending;
    for (const o of owned(ctx, name)) o.deleted = { ...e.deleted };
    return deletedBundle(ctx, e);
}

/** GET /deletedcertificates/{name}. */
export function getDeletedCertificate(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    return deletedBundle(ctx, deleted(ctx, name, now));
}

/** POST /deletedcertificates/{name}/recover: back with its key and secret; 404 CertificateNotFound (the long text, recorded) when not deleted. */
export function recoverCertificate(ctx: VaultContext, name: string, now: number): Json {
    checkName(name);
    const e = deleted(ctx, name, now, () => errors.certificateNotFound(name));
    delete e.deleted;
    for (const o of owned(ctx, name)) delete o.deleted;
    return bundle(ctx, e, latest(e));
}

/** DELETE /deletedcertificates/{name}: the certificate, its key and its secret gone for good (204). */
export function purgeCertificate(ctx: VaultContext, name: string, now: number): void {
    checkName(name);
    deleted(ctx, name, now);
    if (ctx.state.keys[key(name)]?.managed) delete ctx.state.keys[key(name)];
    if (ctx.state.secrets[key(name)]?.managed) delete ctx.state.secrets[key(name)];
    delete ctx.state.certificates[key(name)];
    markPurged(ctx, name, PURGING);
    markPurged(ctx, name, "keys/");
    markPurged(ctx, name);
}

/** POST /certificates/{name}/backup: every version of the certificate, its key and its secret, and the policy, in one blob. */
export async function backupCertificate(ctx: VaultContext, codec: BackupCodec, name: string, now: number): Promise<Json> {
    checkName(name);
    const e = active(ctx, name, now);
    const k = ctx.state.keys[key(name)];
    const s = ctx.state.secrets[key(name)];
    return {
        value: await codec.encodeObject("certificate", {
            name: e.name,
            versions: e.versions,
            policy: e.policy,
            policyCreated: e.policyCreated,
            policyUpdated: e.policyUpdated,
            key: { name: e.name, versions: k?.versions ?? [] },
            secret: { versions: s?.versions ?? [] },
        }),
    };
}

/** POST /certificates/restore: certificate, key and secret back with their original ids; 409 while any of the three names is in use or purging. */
export async function restoreCertificate(ctx: VaultContext, codec: BackupCodec, blob: unknown, now: number): Promise<Json> {
    const p = await codec.decodeObject("certificate", blob);
    const versions = p.versions as CertificateVersion[];
    const secretVersions = (p.secret as { versions?: SecretVersion[] } | undefined)?.versions;
    const ok = (v: CertificateVersion) => typeof v?.version === "string" && typeof v.cer === "string" && typeof v.x5t === "string" && typeof v.created === "number";
    if (typeof p.name !== "string" || !NAME_PATTERN.test(p.name) || !Array.isArray(versions) || !versions.length || !versions.every(ok) || !p.policy || typeof p.policy !== "object" || !Array.isArray(secretVersions)) {
        throw errors.invalidBackupVersion();
    }
    const keyPart = readKeyPayload(p.key as Record<string, unknown>);
    const name = p.name;
    const conflict = () => errors.certificateRestoreConflict(certId(ctx, name, versions[versions.length - 1].version));
    expireIn(ctx.state.certificates, now);
    expireIn(ctx.state.keys, now);
    expireIn(ctx.state.secrets, now);
    if (ctx.state.certificates[key(name)] || ctx.state.keys[key(name)] || ctx.state.secrets[key(name)]) throw conflict();
    for (const prefix of [PURGING, "keys/", ""]) checkNotPurging(ctx, name, conflict, prefix);
    const entry: CertificateEntry = { name, versions: versions.map((v) => ({ ...v })), policy: p.policy as Json, policyCreated: Number(p.policyCreated) || now, policyUpdated: Number(p.policyUpdated) || now };
    ctx.state.certificates[key(name)] = entry;
    ctx.state.keys[key(name)] = { name, versions: keyPart.versions.map((v) => ({ ...v })), managed: true };
    ctx.state.secrets[key(name)] = { name, versions: secretVersions.map((v) => ({ ...v })), managed: true };
    return bundle(ctx, entry, latest(entry));
}
