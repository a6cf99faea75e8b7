/**
 * Backups as files in a folder. Each backup gets a new content-addressed name, is written to a
 * temporary file, fsynced, and linked into place (a hard link fails rather than replace an
 * existing file), then read back (the linked file through the handle that wrote it) and hash-checked. Files are mode 0600; folders this creates are
 * 0700. On any failure nothing of this backup is left in the folder; a temporary file left by a
 * writer that was killed is removed, once it is 10 minutes old, by the first write to the folder
 * from a later process (each process sweeps a folder once, so a folder of 100,000 backups is not
 * read in full for every new one). Every write is bounded by a timeout: a folder whose file
 * system never answers fails the write instead of hanging `pulumi up`.
 */
import { promises as fsp, constants as fsc } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { pathToFileURL, fileURLToPath } from "node:url";
import { backupObjectName, sha256Hex, type BackupRecord, type Destination, type StoredState } from "./destination";
import { redactUrl } from "../redact";

/** Default bound on one write (and on `folderProblem`): the provider's request timeout, 120 s. */
const DEFAULT_FILE_TIMEOUT_MS = 120_000;

/** How a folder destination behaves. */
export interface FileDestinationOptions {
    /** How long one write may take before it fails, ms (default `DEFAULT_FILE_TIMEOUT_MS`). */
    timeoutMs?: number;
}

/** A folder, given as a path (relative to the working directory, the Pulumi project) or `file://` URL. */
export class FileDestination implements Destination {
    /** The folder's absolute path. */
    readonly folder: string;
    private readonly timeoutMs: number;

    constructor(destination: string, options: FileDestinationOptions = {}) {
        this.folder = folderPath(destination);
        this.timeoutMs = options.timeoutMs ?? DEFAULT_FILE_TIMEOUT_MS;
    }

    /**
     * Writes `blob` as a new file and returns its `file://` URL; see the module comment. Fails
     * after the timeout, naming the folder; a step still running then cleans up after itself when
     * it returns, so even a late file system leaves nothing of this backup behind.
     */
    async write(blob: Uint8Array, record: BackupRecord): Promise<string> {
        const abandoned = { yes: false };
        return withTimeout(this.writeSteps(blob, record, abandoned), this.timeoutMs, () => {
            abandoned.yes = true;
            return new Error(`the folder ${this.folder} did not finish the write within ${this.timeoutMs / 1000} s (a hung network share, or a file system that cannot hold files?)`);
        });
    }

    private async writeSteps(blob: Uint8Array, record: BackupRecord, abandoned: { yes: boolean }): Promise<string> {
        const step = (): void => {
            if (abandoned.yes) throw new Error("the write was abandoned after its timeout");
        };
        await prepareFolder(this.folder);
        step();
        const finalPath = path.join(this.folder, backupObjectName(record));
        const tempPath = path.join(this.folder, `.${path.basename(finalPath)}.${randomBytes(6).toString("hex")}.tmp`);
        let linked = false;
        let handle: FileHandle | undefined;
        try {
            handle = await writeDurably(tempPath, blob, this.folder);
            step();
            const sameFile = await placeWithoutOverwriting(tempPath, finalPath);
            linked = true;
            step();
            await syncFolderAfter(this.folder);
            // A hard link is the very file the handle has open: read it back through the handle
            // (three system calls fewer per backup). A copy is another file: read it by its name.
            const stored = sameFile ? await readWhole(handle, blob.length) : await fsp.readFile(finalPath);
            step();
            const hash = sha256Hex(stored);
            if (hash !== record.sha256) {
                throw new Error(`the file read back from ${finalPath} hashes to ${hash}, not ${record.sha256}`);
            }
            return pathToFileURL(finalPath).href;
        } catch (error) {
            if (linked) await removeQuietly(finalPath);
            throw error;
        } finally {
            // The bytes were fsynced and read back (or the write failed already): closing cannot change that.
            await handle?.close().catch(() => undefined);
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
 * process can write, or a path whose nearest existing parent is one (the folder is made later),
 * on a file system that can hold files (not /proc, /sys or another pseudo file system, on Linux
 * where the kernel says so). A folder found fine is not looked at again for a second, so a
 * `pulumi up` of many backups into one folder checks it about once a second, not per resource.
 * Bounded by `timeoutMs` (default `DEFAULT_FILE_TIMEOUT_MS`): a file system that does not answer is a problem too.
 */
export async function folderProblem(destination: string, timeoutMs = DEFAULT_FILE_TIMEOUT_MS): Promise<string | undefined> {
    let folder: string;
    try {
        folder = folderPath(destination);
    } catch (error) {
        return `"${redactUrl(destination)}" is not a usable path: ${(error as Error).message}`;
    }
    const recent = recentChecks.get(folder);
    if (recent && Date.now() < recent.until) return recent.problem;
    const problem = withTimeout(nearestFolderProblem(folder), timeoutMs, () =>
        new Error(`"${folder}" did not answer within ${timeoutMs / 1000} s (a hung network share?)`)).catch((error: Error) => error.message);
    // Concurrent checks of one folder (64 resources in flight) share one look; a problem is not remembered.
    if (recentChecks.size >= 1000) recentChecks.clear();
    recentChecks.set(folder, { until: Date.now() + FINE_FOR_MS, problem });
    const found = await problem;
    if (found !== undefined) recentChecks.delete(folder);
    return found;
}

/** How long `folderProblem` trusts a folder it found fine, ms. */
const FINE_FOR_MS = 1000;
const recentChecks = new Map<string, { until: number; problem: Promise<string | undefined> }>();

async function nearestFolderProblem(folder: string): Promise<string | undefined> {
    for (let dir = folder; ; dir = path.dirname(dir)) {
        const stat = await fsp.stat(dir).catch(() => undefined);
        if (stat) {
            if (!stat.isDirectory()) return `"${dir}" exists and is not a folder`;
            const pseudo = await pseudoFileSystem(dir);
            if (pseudo) return `"${dir}" is on ${pseudo}, a pseudo file system that cannot hold backup files; choose a folder on a disk`;
            try {
                await fsp.access(dir, fsc.W_OK | fsc.X_OK);
            } catch (error) {
                // Root may write anywhere, except on a file system mounted read-only.
                if ((error as NodeJS.ErrnoException).code === "EROFS") {
                    return `the folder "${dir}" is on a read-only file system (EROFS); choose a folder on a writable disk, or mount this one read-write`;
                }
                return `the folder "${dir}" is not writable by this user`;
            }
            return undefined;
        }
        if (path.dirname(dir) === dir) return `no part of "${folder}" exists`;
    }
}

/** Linux pseudo file systems by `statfs` magic number (linux/magic.h): they hold no regular files. */
const PSEUDO_FILE_SYSTEMS: Record<number, string> = {
    0x9fa0: "procfs (/proc)",
    0x62656572: "sysfs (/sys)",
    0x1cd1: "devpts",
    0x27e0eb: "cgroupfs",
    0x63677270: "cgroup2fs",
    0x64626720: "debugfs",
    0x74726163: "tracefs",
    0x73636673: "securityfs",
    0xcafe4a11: "bpffs",
    0x6165676c: "pstorefs",
    0x62656570: "configfs",
    0x65735543: "fusectl",
    0xde5e81e4: "efivarfs",
    0x42494e4d: "binfmt_misc",
    0x6e736673: "nsfs",
    0xf97cff8c: "selinuxfs",
};

/** The name of the pseudo file system `dir` is on, or undefined (also where `statfs` is not available). */
async function pseudoFileSystem(dir: string): Promise<string | undefined> {
    if (process.platform !== "linux") return undefined;
    const stats = await fsp.statfs(dir).catch(() => undefined);
    return stats ? PSEUDO_FILE_SYSTEMS[Number(stats.type)] : undefined;
}

function locationPath(location: string): string {
    if (!location.startsWith("file:")) throw new Error(`"${location}" is not a file:// location`);
    return fileURLToPath(location);
}

// Creates `file` (never an existing one), writes `bytes` and fsyncs them; returns the file still
// open for reading back. A folder removed since it was prepared (someone cleaned up mid-run) is made again, once.
async function writeDurably(file: string, bytes: Uint8Array, folder: string): Promise<FileHandle> {
    const open = (): Promise<FileHandle> => fsp.open(file, "wx+", 0o600);
    const handle = await open().catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
        await makeFolder(folder);
        return open();
    });
    try {
        await handle.writeFile(bytes);
        await handle.sync();
        return handle;
    } catch (error) {
        await handle.close();
        throw error;
    }
}

// The file's bytes from its start, reading one byte past `size`: a longer file shows as a different hash.
async function readWhole(handle: FileHandle, size: number): Promise<Buffer> {
    const buffer = Buffer.alloc(size + 1);
    let filled = 0;
    while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
    }
    return buffer.subarray(0, filled);
}

// A hard link is the portable atomic "create if absent"; where links are not supported, an
// exclusive copy still refuses to overwrite. True when linked (the same file), false when copied.
async function placeWithoutOverwriting(from: string, to: string): Promise<boolean> {
    try {
        await fsp.link(from, to);
        return true;
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw error;
        await copyWithoutOverwriting(from, to);
        return false;
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

/** Per folder, the fsync of it running now and the one queued to start after it. */
const folderSyncs = new Map<string, { running?: Promise<void>; queued?: Promise<void> }>();

// Resolves once an fsync of `folder` that started after this call has finished, so the entry just
// linked is durable. Concurrent writes share syncs (group commit): with 64 in flight, one fsync
// of the folder covers every link made before it started, instead of one open+fsync+close each.
function syncFolderAfter(folder: string): Promise<void> {
    let s = folderSyncs.get(folder);
    if (!s) folderSyncs.set(folder, (s = {}));
    const state = s;
    const start = (): Promise<void> => {
        const run = syncFolder(folder).finally(() => {
            if (state.running === run) state.running = undefined;
        });
        state.running = run;
        return run;
    };
    if (!state.running) return start();
    state.queued ??= state.running.catch(() => undefined).then(() => {
        state.queued = undefined;
        return start();
    });
    return state.queued;
}

// Makes the new directory entry durable too; some platforms cannot open a folder for fsync.
async function syncFolder(folder: string): Promise<void> {
    let handle: FileHandle | undefined;
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
const STALE_TEMPORARY_MS = 10 * 60_000;
const TEMPORARY_NAME = /^\..+\.kvbackup\.[0-9a-f]{12}\.tmp$/;

/** Per folder, this process's one preparation of it (made, swept); dropped when it failed, so the next write tries again. */
const prepared = new Map<string, Promise<void>>();

// Makes the folder and sweeps it once per process; concurrent first writes share the one sweep.
function prepareFolder(folder: string): Promise<void> {
    let ready = prepared.get(folder);
    if (!ready) {
        ready = makeFolder(folder).then(() => removeStaleTemporaryFiles(folder));
        prepared.set(folder, ready);
        ready.catch(() => prepared.delete(folder));
    }
    return ready;
}

// mkdir -p, one level at a time, each new level 0700. Not `fs.mkdir({ recursive: true })`: on
// Linux it never returns for a path under /proc (it retries ENOENT forever).
async function makeFolder(folder: string): Promise<void> {
    const missing: string[] = [];
    for (let dir = folder; ; dir = path.dirname(dir)) {
        const stat = await fsp.stat(dir).catch((error: NodeJS.ErrnoException) => {
            if (error.code === "ENOENT") return undefined;
            throw error;
        });
        if (stat) break;
        missing.unshift(dir);
        if (path.dirname(dir) === dir) break;
    }
    for (const dir of missing) {
        await fsp.mkdir(dir, 0o700).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== "EEXIST") throw error;
        });
    }
}

// A process killed mid-write cannot clean up after itself; the first write of a later process does.
async function removeStaleTemporaryFiles(folder: string): Promise<void> {
    const names = await fsp.readdir(folder).catch(() => [] as string[]);
    for (const name of names.filter((n) => TEMPORARY_NAME.test(n))) {
        const file = path.join(folder, name);
        const stat = await fsp.stat(file).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > STALE_TEMPORARY_MS) await removeQuietly(file);
    }
}

async function removeQuietly(file: string): Promise<void> {
    await fsp.unlink(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
    });
}

/** `work`, or the error `timedOut()` makes once `ms` have passed; the timer never keeps the process alive. */
function withTimeout<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timedOut()), ms);
        timer.unref();
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
