/**
 * Chooses the destination for a destination string: an `http(s)://` URL is a Blob Storage
 * container (a `*.blob.core.*` account, or a loopback Azurite URL), anything else a folder.
 */
import type { TokenCredential } from "@azure/identity";
import type { Destination } from "./destination";
import { FileDestination, folderProblem } from "./file";
import type { BlobDestination } from "./blob";
import { looksLikeBlobDestination, parseBlobDestination } from "./blob-url";
import { redactUrl } from "../redact";

export type { Destination, BackupRecord, StoredState } from "./destination";
export { backupObjectName } from "./destination";

/** What a destination may need besides its string. */
export interface DestinationOptions {
    /** The credential Blob Storage destinations authenticate with (the vault's). */
    credential?: TokenCredential;
    /** How long one folder write may take, ms (the provider's request timeout; default 120 s). */
    timeoutMs?: number;
}

/** Whether `destination` names Blob Storage rather than a folder. */
export function isBlobDestination(destination: string): boolean {
    return looksLikeBlobDestination(destination);
}

/**
 * The destination for `destination`. Blob Storage needs `options.credential`; throws, with the
 * reason, when the URL is not usable or no credential is given.
 */
export function openDestination(destination: string, options: DestinationOptions = {}): Destination {
    if (!isBlobDestination(destination)) return new FileDestination(destination, { timeoutMs: options.timeoutMs });
    if (!options.credential) throw new Error(`destination "${redactUrl(destination)}": Blob Storage needs a credential`);
    // Loaded on first use: @azure/storage-blob costs a folder-only host about 8 MiB and its load time.
    const blob = require("./blob") as typeof import("./blob");
    return new blob.BlobDestination(destination, options.credential);
}

/** Why `destination` cannot hold backups (for `check`), or undefined when it can; a folder's file system gets `timeoutMs` to answer. */
export async function destinationProblem(destination: string, timeoutMs?: number): Promise<string | undefined> {
    if (isBlobDestination(destination)) {
        const parsed = parseBlobDestination(destination);
        return parsed.ok ? undefined : parsed.reason;
    }
    return folderProblem(destination, timeoutMs);
}
