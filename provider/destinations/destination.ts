/**
 * The one interface every backup destination (a folder, a Blob Storage container) implements.
 * The provider picks an implementation from the destination string and never touches files or
 * HTTP itself.
 */
import { createHash } from "node:crypto";

/** What is known about one backup when it is written: stored beside it as metadata where the kind allows. */
export interface BackupRecord {
    /** The vault's base URL, e.g. `https://myvault.vault.azure.net`. */
    vaultUrl: string;
    /** The secret's name. */
    secretName: string;
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
 * The file or blob name of one backup: vault host, secret, UTC time to the millisecond and a hash
 * prefix, so two backups never share a name, e.g.
 * `myvault.vault.azure.net_db-password_20261127T174500123Z_3f2a9c1b0d4e.kvbackup`.
 */
export function backupObjectName(record: BackupRecord): string {
    const host = new URL(record.vaultUrl).host.replace(/[^0-9A-Za-z.-]/g, "_");
    const time = record.backedUpAt.replace(/[-:.]/g, "");
    return `${host}_${record.secretName}_${time}_${record.sha256.slice(0, 12)}.kvbackup`;
}

/** Hex SHA-256 of `bytes`: the hash a backup is identified and verified by, everywhere. */
export function sha256Hex(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex");
}
