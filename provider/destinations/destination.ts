/**
 * The one interface every backup destination (a folder, a Blob Storage container) implements.
 * The provider picks an implementation from the destination string and never touches files or
 * HTTP itself.
 */
import { createHash } from "node:crypto";

/** The kinds of Key Vault object a backup can hold. */
export type ObjectKind = "secret" | "key" | "certificate";

/** Every object kind, in the order they are listed and backed up. */
export const OBJECT_KINDS: readonly ObjectKind[] = ["secret", "key", "certificate"];

/** What is known about one backup when it is written: stored beside it as metadata where the kind allows. */
export interface BackupRecord {
    /** The vault's base URL, e.g. `https://myvault.vault.azure.net`. */
    vaultUrl: string;
    /** The object's name (a secret's, key's or certificate's; the field keeps its first name for existing callers). */
    secretName: string;
    /** What the backup holds; a record without one is a secret backup (everything written before keys and certificates). */
    kind?: ObjectKind;
    /** When the backup was taken (this machine's clock, right after Key Vault answered), ISO 8601 UTC. */
    backedUpAt: string;
    /** Hex SHA-256 of the decoded blob bytes. */
    sha256: string;
    /** Length of the decoded blob in bytes. */
    sizeBytes: number;
}

/** The result of checking a stored backup against the hash recorded in state. */
export type StoredState = "ok" | "missing" | "changed";

/** A place backups are written to and read back from. */
export interface Destination {
    /**
     * Writes `blob` once, under a new name derived from `record` (see `backupObjectName`), and
     * returns its location URL (`file://...` or `https://...`). Never overwrites anything; reads
     * back what was stored and compares its SHA-256 with `record.sha256` before returning; leaves
     * nothing behind when it fails.
     */
    write(blob: Uint8Array, record: BackupRecord): Promise<string>;
    /** Reads the bytes stored at a location this kind of destination wrote. */
    read(location: string): Promise<Uint8Array>;
    /** Whether the backup at `location` still exists and hashes to `sha256`. */
    verify(location: string, sha256: string): Promise<StoredState>;
}

/**
 * The file or blob name of one backup: vault host, object name, UTC time to the millisecond and a
 * hash prefix, so two backups never share a name, e.g.
 * `myvault.vault.azure.net_db-password_20261127T174500123Z_3f2a9c1b0d4e.kvbackup`. Secret backups
 * end in `.kvbackup` (as they always have); keys and certificates in `.key.kvbackup` and
 * `.certificate.kvbackup`, because their blobs share one tag and the name is what tells them apart
 * without the state. `parseBackupObjectName` reads a name back.
 */
export function backupObjectName(record: BackupRecord): string {
    const host = vaultHostKey(record.vaultUrl);
    const time = record.backedUpAt.replace(/[-:.]/g, "");
    const kind = record.kind && record.kind !== "secret" ? `.${record.kind}` : "";
    return `${host}_${record.secretName}_${time}_${record.sha256.slice(0, 12)}${kind}.kvbackup`;
}

/**
 * A vault as backup names spell it: the URL's host with anything but letters, digits, dots and
 * hyphens turned into `_` (`127.0.0.1:41234` becomes `127.0.0.1_41234`). Takes a vault URL or a
 * bare host (as `secret-backup list --vault` accepts either).
 */
export function vaultHostKey(vault: string): string {
    const host = /^[a-z][a-z0-9+.-]*:\/\//i.test(vault) ? new URL(vault).host : vault;
    return host.replace(/[^0-9A-Za-z.-]/g, "_").toLowerCase();
}

/** What a backup's file or blob name says about it (see `backupObjectName`). */
export interface BackupObjectName {
    /** The vault's host as written in the name: `myvault.vault.azure.net`, or `127.0.0.1_41234` with a port. */
    host: string;
    kind: ObjectKind;
    /** The object's name in the vault. */
    name: string;
    /** When the backup was taken, ISO 8601 UTC to the millisecond. */
    backedUpAt: string;
    /** The first 12 hex digits of the blob's SHA-256. */
    sha256Prefix: string;
}

const OBJECT_NAME = /^(.+)_([0-9A-Za-z-]{1,127})_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z_([0-9a-f]{12})(?:\.(key|certificate))?\.kvbackup$/;

/** Reads a name `backupObjectName` made (the last path segment only); `undefined` for any other name. */
export function parseBackupObjectName(fileName: string): BackupObjectName | undefined {
    const m = OBJECT_NAME.exec(fileName);
    if (!m) return undefined;
    const [, host, name, y, mo, d, h, mi, s, ms, sha256Prefix, kind] = m;
    return {
        host,
        kind: (kind as ObjectKind | undefined) ?? "secret",
        name,
        backedUpAt: `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`,
        sha256Prefix,
    };
}

/** Hex SHA-256 of `bytes`: the hash a backup is identified and verified by, everywhere. */
export function sha256Hex(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex");
}
