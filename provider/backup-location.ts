/**
 * Reading a backup back from where a `SecretBackup` wrote it: a `file://` URL or plain path, or
 * a Blob Storage URL (through the blob destination, so the same credential and error handling
 * apply). Used by verify and restore.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TokenCredential } from "@azure/identity";
import { BackupInputError, BackupVerificationError } from "./backup-errors";
import { BlobStorageError } from "./destinations/blob-errors";
import { looksLikeBlobDestination, parseBlobLocation } from "./destinations/blob-url";
import { redactUrl } from "./redact";

/** No Key Vault secret backup comes near this size (500 versions of at most 25 KB each, encrypted). */
const MAX_BACKUP_BYTES = 64 * 1024 * 1024;

/** Where a backup is, as parsed from the location string a user gave. */
type BackupLocation = { kind: "file"; path: string; url: string } | { kind: "blob"; url: string };

/**
 * Parses a location: `file://` URL, `https://` Blob Storage URL, or a plain path (relative to
 * the working directory). Throws `BackupInputError` naming `location` for anything else.
 */
function parseBackupLocation(location: string): BackupLocation {
    if (typeof location !== "string" || location.trim() === "") {
        throw new BackupInputError("location", "location is empty: give the backup's file path, file:// URL or blob URL");
    }
    if (location.startsWith("file:")) {
        let file: string;
        try {
            file = fileURLToPath(location);
        } catch (e) {
            throw new BackupInputError("location", `location ${redactUrl(location)} is not a usable file:// URL (${(e as Error).message})`);
        }
        return { kind: "file", path: file, url: pathToFileURL(file).href };
    }
    if (looksLikeBlobDestination(location)) {
        const parsed = parseBlobLocation(location);
        if (!parsed.ok) throw new BackupInputError("location", `location ${redactUrl(location)} is not a Blob Storage backup location: ${parsed.reason}`);
        return { kind: "blob", url: location };
    }
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) {
        throw new BackupInputError("location", `location ${redactUrl(location)} is neither a file path, a file:// URL nor an https:// Blob Storage URL`);
    }
    const file = path.resolve(location);
    return { kind: "file", path: file, url: pathToFileURL(file).href };
}

/** Reads the stored bytes at `location`; rejects with `BackupVerificationError` (`missing`/`unreadable`) when it cannot. */
export async function readBackupBytes(
    location: string,
    credential?: TokenCredential,
): Promise<{ url: string; bytes: Uint8Array }> {
    const where = parseBackupLocation(location);
    if (where.kind === "file") return { url: where.url, bytes: await readFile(where) };
    return { url: where.url, bytes: await readBlob(where.url, credential) };
}

async function readFile(where: { path: string; url: string }): Promise<Uint8Array> {
    try {
        const stat = await fs.stat(where.path);
        if (!stat.isFile()) throw new BackupVerificationError("unreadable", where.url, `Backup ${where.url} is not a file.`);
        if (stat.size > MAX_BACKUP_BYTES) {
            throw new BackupVerificationError("damaged", where.url, `Backup ${where.url} is ${stat.size} bytes, larger than any Key Vault secret backup.`);
        }
        return await fs.readFile(where.path);
    } catch (e) {
        if (e instanceof BackupVerificationError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") throw new BackupVerificationError("missing", where.url, `Backup ${where.url} does not exist.`);
        throw new BackupVerificationError("unreadable", where.url, `Backup ${where.url} cannot be read: ${code ?? (e as Error).message}.`);
    }
}

/**
 * Reads a blob through the blob destination of its container, with `credential` or the
 * provider's (environment) credential. A missing blob or container is `missing`; any other
 * Storage failure is `unreadable` with Storage's facts (account, container, status, code, request id).
 */
async function readBlob(url: string, credential: TokenCredential | undefined): Promise<Uint8Array> {
    const where = parseBlobLocation(url);
    if (!where.ok) throw new BackupInputError("location", where.reason);
    // Loaded here so that reading a file does not load the Storage and identity libraries.
    const { openDestination } = await import("./destinations");
    const { environmentCredential } = await import("./credentials");
    const destination = openDestination(`${where.accountUrl}/${where.container}`, {
        credential: credential ?? environmentCredential(),
    });
    try {
        return await destination.read(url);
    } catch (e) {
        if (!(e instanceof BlobStorageError)) throw e;
        const gone = e.statusCode === 404 && (e.code === "BlobNotFound" || e.code === "ContainerNotFound");
        throw new BackupVerificationError(gone ? "missing" : "unreadable", url, gone ? `Backup ${url} does not exist (${e.message})` : e.message);
    }
}
