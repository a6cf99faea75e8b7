/**
 * What a destination (a folder or a Blob Storage container and prefix) holds, read from names and
 * metadata only: a folder's entries (readdir and lstat), a container's blobs listed by prefix with
 * their metadata. No backup is opened here; `verifyStored` reads one when asked. Shared by
 * `listBackups`, `restoreVault` and `pruneBackups`.
 */
import * as fs from "node:fs";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { TokenCredential } from "@azure/identity";
import { BlobServiceClient, ContainerClient, newPipeline, type Pipeline } from "@azure/storage-blob";
import { parseBackupObjectName, vaultHostKey, type ObjectKind } from "../destinations/destination";
import { folderPath } from "../destinations/file";
import { isBlobDestination } from "../destinations";
import { parseBlobDestination } from "../destinations/blob-url";
import { BLOB_METADATA } from "../destinations/blob";
import { translateBlobError, type BlobContext } from "../destinations/blob-errors";
import { BackupInputError, BackupVerificationError } from "../backup-errors";
import { loadVerifiedBackup, type VerifiedBackup } from "../verify";
import { environmentCredential } from "../credentials";
import { redactUrl } from "../redact";

/** One stored backup, as its name (and, in Blob Storage, its metadata) describe it. */
export interface StoredBackup {
    /** `file://...` or `https://...` URL of the backup. */
    location: string;
    /** The vault's host as the name spells it (`myvault.vault.azure.net`, `127.0.0.1_41234`). */
    vault: string;
    kind: ObjectKind;
    /** The object's name in the vault. */
    name: string;
    /** When it was taken, ISO 8601 UTC. */
    backedUpAt: string;
    /** Stored size in bytes. */
    sizeBytes: number;
    /** The first 12 hex digits of its SHA-256, from the name. */
    sha256Prefix: string;
    /** The full hex SHA-256, from Blob Storage metadata (absent for files). */
    sha256?: string;
    /** The source vault's URL, from Blob Storage metadata (absent for files). */
    vaultUrl?: string;
    /** Whether it carries this tool's metadata: always for files (a folder has none), for blobs only when written by this tool. */
    ownMetadata: boolean;
    /** The blob's ETag when listed, so a removal never takes a blob changed since. */
    etag?: string;
}

/** An entry under the destination that is not one of this tool's backups; never touched. */
export interface ForeignEntry {
    location: string;
    why: string;
}

/** Everything a destination holds, sorted by vault, kind, name and time (newest first). */
export interface Catalog {
    /** The destination as given, for messages (query strings removed). */
    destination: string;
    store: "folder" | "blob";
    backups: StoredBackup[];
    foreign: ForeignEntry[];
    /** Removes one backup (blobs only if unchanged since listed); rejects with the store's error. */
    remove(backup: StoredBackup): Promise<void>;
    /** What on the service side keeps removed backups (Blob immutability, soft delete), as sentences; empty for folders. */
    retentionNotes(): Promise<string[]>;
}

/** How catalogs open Blob Storage; the defaults suit real Azure. */
export interface CatalogOptions {
    /** Credential for Blob Storage (Reader to list, Contributor to prune); by default the environment's. */
    credential?: TokenCredential;
}

/** Lists `destination` (a folder path, `file://` URL, or Blob Storage container URL with optional prefix). */
export async function openCatalog(destination: string, options: CatalogOptions = {}): Promise<Catalog> {
    if (typeof destination !== "string" || destination.trim() === "") {
        throw new BackupInputError("destination", "destination is empty: give the backup folder or the Blob Storage container URL");
    }
    return isBlobDestination(destination) ? blobCatalog(destination, options.credential ?? environmentCredential()) : folderCatalog(destination);
}

/**
 * Reads one backup and checks it with `loadVerifiedBackup` (the one rule every command shares):
 * its hash against its name's prefix (and the full hash in its metadata, when there is one) and
 * its framing as a backup of its kind. Resolves with what the check found; rejects with
 * `BackupVerificationError` (nothing of the bytes in the message).
 */
export async function verifyStored(backup: StoredBackup, credential?: TokenCredential): Promise<{ report: VerifiedBackup; bytes: Uint8Array }> {
    return loadVerifiedBackup(backup.location, {
        sha256: backup.sha256,
        credential,
        kind: backup.kind,
    });
}

/** Sort order of a catalog: vault, kind, name (case-insensitive), then newest first. */
function compareBackups(a: StoredBackup, b: StoredBackup): number {
    return (
        a.vault.localeCompare(b.vault) ||
        a.kind.localeCompare(b.kind) ||
        a.name.toLowerCase().localeCompare(b.name.toLowerCase()) ||
        b.backedUpAt.localeCompare(a.backedUpAt)
    );
}

/** The key that groups backups of one object: Key Vault names are case-insensitive. */
function objectKey(b: { vault: string; kind: ObjectKind; name: string }): string {
    return `${b.vault} ${b.kind} ${b.name.toLowerCase()}`;
}

/** The backups grouped per object, newest first within each, in catalog order. */
export function groupByObject(backups: StoredBackup[]): StoredBackup[][] {
    const groups = new Map<string, StoredBackup[]>();
    for (const b of [...backups].sort(compareBackups)) {
        const key = objectKey(b);
        const group = groups.get(key);
        if (group) group.push(b);
        else groups.set(key, [b]);
    }
    return [...groups.values()];
}

/** Whether `vaultFilter` (a vault URL or host, as a user types it) names the vault `host` of a backup name. */
export function sameVault(host: string, vaultFilter: string): boolean {
    return vaultHostKey(vaultFilter) === host.toLowerCase();
}

function isFile(p: string): boolean {
    try {
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}

async function folderCatalog(destination: string): Promise<Catalog> {
    const folder = folderPath(destination);
    let names: string[];
    try {
        names = await fsp.readdir(folder);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new BackupVerificationError(
            code === "ENOENT" ? "missing" : "unreadable",
            pathToFileURL(folder).href,
            code === "ENOENT" ? `The folder ${folder} does not exist: check the path (the destination of the backups).`
                : code === "ENOTDIR" ? `${folder} is not a folder (${isFile(folder) ? "it is a file" : "a part of its path is a file"}): give the folder or container the backups were written to (a destination), not a backup file.`
                : `The folder ${folder} cannot be read: ${code ?? (e as Error).message}.`,
        );
    }
    const backups: StoredBackup[] = [];
    const foreign: ForeignEntry[] = [];
    for (const name of names.sort()) {
        const file = path.join(folder, name);
        const location = pathToFileURL(file).href;
        const parsed = parseBackupObjectName(name);
        if (!parsed) {
            foreign.push({ location, why: "not a backup name this tool writes" });
            continue;
        }
        const stat = await fsp.lstat(file).catch(() => undefined);
        if (!stat?.isFile()) {
            foreign.push({ location, why: stat ? "not a regular file" : "gone while listing" });
            continue;
        }
        backups.push({
            location,
            vault: parsed.host.toLowerCase(),
            kind: parsed.kind,
            name: parsed.name,
            backedUpAt: parsed.backedUpAt,
            sizeBytes: stat.size,
            sha256Prefix: parsed.sha256Prefix,
            ownMetadata: true,
        });
    }
    return {
        destination: folder,
        store: "folder",
        backups: backups.sort(compareBackups),
        foreign,
        remove: async (b) => {
            const file = path.join(folder, path.basename(new URL(b.location).pathname));
            const stat = await fsp.lstat(file);
            if (!stat.isFile()) throw new Error(`${b.location} is no longer a regular file; left alone`);
            await fsp.unlink(file);
        },
        retentionNotes: async () => [],
    };
}

const BLOB_RETRY = { maxTries: 4, retryDelayInMs: 800, maxRetryDelayInMs: 10_000, tryTimeoutInMs: 60_000 };

async function blobCatalog(destination: string, credential: TokenCredential): Promise<Catalog> {
    const parsed = parseBlobDestination(destination);
    if (!parsed.ok) throw new BackupInputError("destination", `destination ${redactUrl(destination)} is not a usable Blob Storage URL: ${parsed.reason}`);
    const { accountUrl, account, container, prefix } = parsed;
    const pipeline: Pipeline = newPipeline(credential, { retryOptions: BLOB_RETRY });
    const client = new ContainerClient(`${accountUrl}/${container}`, pipeline);
    const ctx: BlobContext = { account, container };
    const backups: StoredBackup[] = [];
    const foreign: ForeignEntry[] = [];
    const blobNames = new Map<string, string>();
    try {
        for await (const item of client.listBlobsFlat({ prefix, includeMetadata: true })) {
            const location = client.getBlobClient(item.name).url;
            blobNames.set(location, item.name);
            const parsedName = parseBackupObjectName(item.name.slice(item.name.lastIndexOf("/") + 1));
            if (!parsedName) {
                foreign.push({ location, why: "not a backup name this tool writes" });
                continue;
            }
            const meta = item.metadata ?? {};
            const sha256 = meta[BLOB_METADATA.sha256]?.toLowerCase();
            const own = sha256 !== undefined && meta[BLOB_METADATA.vaultUrl] !== undefined && meta[BLOB_METADATA.secretName] !== undefined;
            if (own && !metadataMatchesName(meta, sha256, parsedName)) {
                foreign.push({ location, why: "its metadata does not match its name (copied or edited by hand)" });
                continue;
            }
            backups.push({
                location,
                vault: parsedName.host.toLowerCase(),
                kind: parsedName.kind,
                name: parsedName.name,
                backedUpAt: parsedName.backedUpAt,
                sizeBytes: item.properties.contentLength ?? 0,
                sha256Prefix: parsedName.sha256Prefix,
                ...(own ? { sha256, vaultUrl: meta[BLOB_METADATA.vaultUrl] } : {}),
                ownMetadata: own,
                etag: item.properties.etag,
            });
        }
    } catch (e) {
        const error = translateBlobError(e, "read", ctx);
        if (error.statusCode === 404 && error.code === "ContainerNotFound") {
            throw new BackupVerificationError("missing", `${accountUrl}/${container}`, `${error.message}`);
        }
        throw new BackupVerificationError("unreadable", `${accountUrl}/${container}`, error.message);
    }
    return {
        destination: redactUrl(destination),
        store: "blob",
        backups: backups.sort(compareBackups),
        foreign,
        remove: async (b) => {
            const blobName = blobNames.get(b.location);
            if (blobName === undefined) throw new Error(`${b.location} was not listed in ${redactUrl(destination)}; left alone`);
            try {
                await client.getBlobClient(blobName).delete({ conditions: b.etag ? { ifMatch: b.etag } : undefined });
            } catch (e) {
                throw translateBlobError(e, "remove", { ...ctx, blobName });
            }
        },
        retentionNotes: () => blobRetentionNotes(client, new BlobServiceClient(accountUrl, pipeline), ctx),
    };
}

function metadataMatchesName(meta: Record<string, string>, sha256: string, name: { name: string; kind: ObjectKind; sha256Prefix: string }): boolean {
    const kind = (meta[BLOB_METADATA.kind] ?? "secret") as ObjectKind;
    return sha256.startsWith(name.sha256Prefix) && meta[BLOB_METADATA.secretName]?.toLowerCase() === name.name.toLowerCase() && kind === name.kind;
}

/**
 * What Storage says will keep blobs that a prune deletes, or refuse the delete: a container
 * immutability policy or legal hold, version-level immutability, and blob soft delete. A setting
 * that cannot be read (no permission, an emulator without it) is said to be unknown.
 */
async function blobRetentionNotes(client: ContainerClient, service: BlobServiceClient, ctx: BlobContext): Promise<string[]> {
    const notes: string[] = [];
    try {
        const p = await client.getProperties();
        if (p.hasImmutabilityPolicy) notes.push(`container ${ctx.container} has a time-based immutability policy: blobs inside their retention period cannot be deleted and will be reported as failed (409/403).`);
        if (p.hasLegalHold) notes.push(`container ${ctx.container} has a legal hold: no blob in it can be deleted until the hold is cleared.`);
        if (p.isImmutableStorageWithVersioningEnabled) notes.push(`container ${ctx.container} has version-level immutability: a blob's locked versions stay until their retention ends.`);
    } catch (e) {
        const error = translateBlobError(e, "read", ctx);
        notes.push(`could not read container ${ctx.container}'s immutability settings (${[error.statusCode, error.code].filter(Boolean).join(" ")}); check them in the portal.`);
    }
    try {
        const s = await service.getProperties();
        if (s.deleteRetentionPolicy?.enabled) {
            notes.push(`account ${ctx.account} has blob soft delete on (${s.deleteRetentionPolicy.days ?? "?"} days): removed backups stay recoverable, and billed, for that long.`);
        }
    } catch (e) {
        const error = translateBlobError(e, "read", ctx);
        notes.push(`could not read account ${ctx.account}'s soft-delete setting (${[error.statusCode, error.code].filter(Boolean).join(" ")}): if it is on, removed backups stay recoverable (and billed) for its retention days.`);
    }
    return notes;
}
