/**
 * Backups as files in a folder. Each backup gets a new content-addressed name, is written to a
 * temporary file, fsynced, and linked into place (a hard link fails rather than replace an
 * existing file), then read back and hash-checked. Files are mode 0600; folders this creates are
 * 0700. On any failure nothing of this backup is left in the folder; a temporary file left by a
 * writer that was killed is removed by a later write to the folder once it is 10 minutes old.
 */
import { promises as fsp, constants as fsc } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { pathToFileURL, fileURLToPath } from "node:url";
import { backupObjectName, sha256Hex, type BackupRecord, type Destination, type StoredState } from "./destination";
import { redactUrl } from "../redact";

/** A folder, given as a path (relative to the working directory, the Pulumi project) or `file://` URL. */
export class FileDestination implements Destination {
    /** The folder's absolute path. */
    readonly folder: string;

    constructor(destination: string) {
        this.folder = folderPath(destination);
    }

    /** Writes `blob` as a new file and returns its `file://` URL; see the module comment. */
    async write(blob: Uint8Array, record: BackupRecord): Promise<string> {
        await fsp.mkdir(this.folder, { recursive: true, mode: 0o700 });
        await removeStaleTemporaryFiles(this.folder);
        const finalPath = path.join(this.folder, backupObjectName(record));
        const tempPath = path.join(this.folder, `.${path.basename(finalPath)}.${randomBytes(6).toString("hex")}.tmp`);
        let linked = false;
        try {
            await writeDurably(tempPath, blob);
            await placeWithoutOverwriting(tempPath, finalPath);
            linked = true;
            await syncFolder(this.folder);
            const stored = await fsp.readFile(finalPath);
            const hash = sha256Hex(stored);
            if (hash !== record.sha256) {
                throw new Error(`the file read back from ${finalPath} hashes to ${hash}, not ${record.sha256}`);
            }
            return pathToFileURL(finalPath).href;
        } catch (error) {
            if (linked) await removeQuietly(finalPath);
            throw error;
        } finally {
            await removeQuietly(tempPath);
        }
    }

    /** The bytes of the backup file at a `file://` location. */
    async read(location: string): Promise<Uint8Array> {
        return fsp.readFile(locationPath(location));
    }

    /** "missing" when the file is gone, "changed" when its hash differs, else "ok". */
    async verify(location: string, sha256: string): Promise<StoredState> {
        try {
            return sha256Hex(await this.read(location)) === sha256 ? "ok" : "changed";
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
            throw error;
        }
    }
}

/** The absolute folder path of a destination string (a path or a `file://` URL). */
export function folderPath(destination: string): string {
    return path.resolve(destination.startsWith("file:") ? fileURLToPath(destination) : destination);
}

/**
 * Why `destination` cannot hold backups, or undefined when it can: it must be a folder this
 * process can write, or a path whose nearest existing parent is one (the folder is made later).
 */
export async function folderProblem(destination: string): Promise<string | undefined> {
    let folder: string;
    try {
        folder = folderPath(destination);
    } catch (error) {
        return `"${redactUrl(destination)}" is not a usable path: ${(error as Error).message}`;
    }
    for (let dir = folder; ; dir = path.dirname(dir)) {
        const stat = await fsp.stat(dir).catch(() => undefined);
        if (stat) {
            if (!stat.isDirectory()) return `"${dir}" exists and is not a folder`;
            try {
                await fsp.access(dir, fsc.W_OK | fsc.X_OK);
            } catch {
                return `the folder "${dir}" is not writable by this user`;
            }
            return undefined;
        }
        if (path.dirname(dir) === dir) return `no part of "${folder}" exists`;
    }
}

function locationPath(location: string): string {
    if (!location.startsWith("file:")) throw new Error(`"${location}" is not a file:// location`);
    return fileURLToPath(location);
}

async function writeDurably(file: string, bytes: Uint8Array): Promise<void> {
    const handle = await fsp.open(file, "wx", 0o600);
    try {
        await handle.writeFile(bytes);
        await handle.sync();
    } finally {
        await handle.close();
    }
}

// A hard link is the portable atomic "create if absent"; where links are not supported, an
// exclusive copy still refuses to overwrite.
async function placeWithoutOverwriting(from: string, to: string): Promise<void> {
    try {
        await fsp.link(from, to);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw error;
        await copyWithoutOverwriting(from, to);
    }
}

// Refuses an existing `to` (EEXIST: someone else's file, left alone); a copy that fails after
// creating `to` removes it, so no partial or wrongly-moded backup keeps a backup's name.
async function copyWithoutOverwriting(from: string, to: string): Promise<void> {
    try {
        await fsp.copyFile(from, to, fsc.COPYFILE_EXCL);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") await removeQuietly(to);
        throw error;
    }
    try {
        await fsp.chmod(to, 0o600);
    } catch (error) {
        await removeQuietly(to);
        throw error;
    }
}

// Makes the new directory entry durable too; some platforms cannot open a folder for fsync.
async function syncFolder(folder: string): Promise<void> {
    let handle: import("node:fs/promises").FileHandle | undefined;
    try {
        handle = await fsp.open(folder, "r");
        await handle.sync();
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL") throw error;
    } finally {
        await handle?.close();
    }
}

/** Temporary files older than this were left by a writer that died (a killed provider host): no live write takes so long. */
export const STALE_TEMPORARY_MS = 10 * 60_000;
const TEMPORARY_NAME = /^\..+\.kvbackup\.[0-9a-f]{12}\.tmp$/;

// A process killed mid-write cannot clean up after itself; the next write in the folder does.
async function removeStaleTemporaryFiles(folder: string): Promise<void> {
    const names = await fsp.readdir(folder).catch(() => [] as string[]);
    for (const name of names.filter((n) => TEMPORARY_NAME.test(n))) {
        const file = path.join(folder, name);
        const stat = await fsp.stat(file).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > STALE_TEMPORARY_MS) await removeQuietly(file);
    }
}

async function removeQuietly(file: string): Promise<void> {
    await fsp.rm(file, { force: true });
}
