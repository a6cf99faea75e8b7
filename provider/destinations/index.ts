/**
 * Chooses the destination for a destination string: an `https://` URL is a Blob Storage container
 * (a `*.blob.core.*` account, or a loopback Azurite URL), anything else a folder.
 */
import type { TokenCredential } from "@azure/identity";
import type { Destination } from "./destination";
import { FileDestination, folderProblem } from "./file";

export type { Destination, BackupRecord, StoredState } from "./destination";
export { backupObjectName } from "./destination";

/** What a destination may need besides its string. */
export interface DestinationOptions {
    /** The credential Blob Storage destinations authenticate with (the vault's). */
    credential?: TokenCredential;
}

/** Whether `destination` names Blob Storage rather than a folder. */
export function isBlobDestination(destination: string): boolean {
    return /^https:\/\//i.test(destination);
}

/** The destination for `destination`; throws for Blob Storage until that kind is available. */
export function openDestination(destination: string, options: DestinationOptions = {}): Destination {
    if (isBlobDestination(destination)) {
        void options;
        throw new Error(`destination "${destination}": Blob Storage destinations are not yet supported`);
    }
    return new FileDestination(destination);
}

/** Why `destination` cannot hold backups (for `check`), or undefined when it can. */
export async function destinationProblem(destination: string): Promise<string | undefined> {
    if (isBlobDestination(destination)) {
        try {
            const url = new URL(destination);
            if (url.search || url.hash) return `"${destination}" must be a container URL without query or fragment (no SAS tokens: the vault's credential is used)`;
            if (url.pathname.split("/").filter(Boolean).length === 0) return `"${destination}" names no container; expected https://<account>.blob.core.windows.net/<container>[/<prefix>]`;
            return undefined;
        } catch {
            return `"${destination}" is not a URL`;
        }
    }
    return folderProblem(destination);
}
