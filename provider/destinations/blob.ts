/**
 * Azure Blob Storage as a backup destination, through `@azure/storage-blob` with a Microsoft Entra
 * ID `TokenCredential` (the same one that reads the vault). Each backup is one block blob created
 * only if the name is free (`If-None-Match: *`), carrying its SHA-256 and source as metadata, read
 * back and hashed before the write counts; on failure only the blob this call created is removed.
 */
import { createHash, randomUUID } from "node:crypto";
import type { TokenCredential } from "@azure/identity";
import { BlockBlobClient, ContainerClient, newPipeline, Pipeline, StorageRetryOptions } from "@azure/storage-blob";
import { BackupRecord, backupObjectName, Destination, sha256Hex, StoredState } from "./destination";
import { BlobDestinationAddress, parseBlobDestination, parseBlobLocation } from "./blob-url";
import { redactUrl } from "../redact";
import { BlobContext, blobError, translateBlobError } from "./blob-errors";

export { parseBlobDestination, parseBlobLocation, looksLikeBlobDestination } from "./blob-url";
export type { BlobDestinationAddress, BlobLocation, Parsed } from "./blob-url";
export { BlobStorageError } from "./blob-errors";

/** Tuning for `BlobDestination`; the defaults suit real Azure. */
export interface BlobDestinationOptions {
    /**
     * Storage retry policy. Default: 4 tries with exponential back-off from 0.8 s (at most 10 s),
     * 60 s per try, so an unreachable account fails in about 3 s instead of the SDK's default 16 s.
     */
    retry?: StorageRetryOptions;
}

/** Metadata keys stored on every backup blob (Storage metadata names must be C# identifiers). */
export const BLOB_METADATA = {
    sha256: "sha256",
    sizeBytes: "sizebytes",
    vaultUrl: "sourcevault",
    secretName: "sourcesecret",
    /** `key` or `certificate`; absent on secret backups (all blobs written before other kinds existed). */
    kind: "sourcekind",
    backedUpAt: "backedupat",
    /** A random id per write, so a retried create can tell its own blob from someone else's. */
    writeId: "writeid",
} as const;

const DEFAULT_RETRY: StorageRetryOptions = { maxTries: 4, retryDelayInMs: 800, maxRetryDelayInMs: 10_000, tryTimeoutInMs: 60_000 };

/** Writes backups to one container (and prefix) and reads or verifies any blob location on the same kinds of host. */
export class BlobDestination implements Destination {
    /** The parsed destination URL. */
    readonly address: BlobDestinationAddress;
    private readonly pipeline: Pipeline;

    /**
     * @param destinationUrl `https://<account>.blob.core.windows.net/<container>/<optional prefix>`
     *   (or a loopback Azurite URL); throws an error with the reason when it is not usable.
     * @param credential Needs the "Storage Blob Data Contributor" role on the container (or
     *   "Storage Blob Data Reader" for read/verify only).
     */
    constructor(destinationUrl: string, credential: TokenCredential, options: BlobDestinationOptions = {}) {
        const parsed = parseBlobDestination(destinationUrl);
        if (!parsed.ok) throw new Error(`destination "${redactUrl(destinationUrl)}" is not usable: ${parsed.reason}`);
        this.address = { accountUrl: parsed.accountUrl, account: parsed.account, container: parsed.container, prefix: parsed.prefix };
        this.pipeline = newPipeline(credential, { retryOptions: { ...DEFAULT_RETRY, ...options.retry } });
    }

    /** Creates `<prefix><backupObjectName(record)>`; see `Destination.write`. Returns the blob's URL. */
    async write(blob: Uint8Array, record: BackupRecord): Promise<string> {
        const { accountUrl, account, container, prefix } = this.address;
        const blobName = prefix + backupObjectName(record);
        const ctx: BlobContext = { account, container, blobName };
        const client = this.containerClient(accountUrl, container).getBlockBlobClient(blobName);
        const writeId = randomUUID();
        const etag = await this.create(client, blob, record, writeId, ctx);
        try {
            await this.checkStored(client, etag, record, ctx);
        } catch (e) {
            const error = translateBlobError(e, "read back", ctx);
            error.message += ` ${await this.removeOwn(client, etag, ctx)}`;
            throw error;
        }
        return client.url;
    }

    /** Reads a backup blob; fails with a `BlobStorageError` (404 BlobNotFound when it is gone). */
    async read(location: string): Promise<Uint8Array> {
        const { client, ctx } = this.locate(location);
        try {
            return new Uint8Array(await downloadAll(client));
        } catch (e) {
            throw translateBlobError(e, "read", ctx);
        }
    }

    /** "missing" when the blob or its container is gone, "changed" when its bytes no longer hash to `sha256`. */
    async verify(location: string, sha256: string): Promise<StoredState> {
        const { client, ctx } = this.locate(location);
        try {
            const response = await client.download(0);
            const digest = await sha256Of(response.readableStreamBody!);
            return digest === sha256.toLowerCase() ? "ok" : "changed";
        } catch (e) {
            const code = (e as { details?: { errorCode?: string } }).details?.errorCode;
            if ((e as { statusCode?: number }).statusCode === 404 && (code === "BlobNotFound" || code === "ContainerNotFound")) {
                return "missing";
            }
            throw translateBlobError(e, "verify", ctx);
        }
    }

    private containerClient(accountUrl: string, container: string): ContainerClient {
        return new ContainerClient(`${accountUrl}/${container}`, this.pipeline);
    }

    private locate(location: string): { client: BlockBlobClient; ctx: BlobContext } {
        const parsed = parseBlobLocation(location);
        if (!parsed.ok) throw new Error(`"${redactUrl(location)}" is not a Blob Storage backup location: ${parsed.reason}`);
        const ctx = { account: parsed.account, container: parsed.container, blobName: parsed.blobName };
        return { client: this.containerClient(parsed.accountUrl, parsed.container).getBlockBlobClient(parsed.blobName), ctx };
    }

    /** Uploads only if the name is free; returns the new blob's ETag. */
    private async create(client: BlockBlobClient, blob: Uint8Array, record: BackupRecord, writeId: string, ctx: BlobContext) {
        try {
            const response = await client.upload(blob, blob.length, {
                conditions: { ifNoneMatch: "*" },
                metadata: metadataFor(record, writeId),
                blobHTTPHeaders: { blobContentType: "application/octet-stream" },
            });
            return response.etag!;
        } catch (e) {
            // A create whose reply was lost may have been retried into 409 against our own blob,
            // or may have landed although the call failed: find out from the write id.
            const own = mayHaveLanded(e) ? await this.ownEtag(client, writeId) : undefined;
            if (own) return own;
            throw translateBlobError(e, "write", ctx);
        }
    }

    /** The blob's ETag if it exists and was written by this call (same write id); otherwise undefined. */
    private async ownEtag(client: BlockBlobClient, writeId: string): Promise<string | undefined> {
        try {
            const props = await client.getProperties();
            return props.metadata?.[BLOB_METADATA.writeId] === writeId ? props.etag : undefined;
        } catch {
            return undefined;
        }
    }

    /** Downloads what was stored (only if still the blob we wrote) and compares size and SHA-256. */
    private async checkStored(client: BlockBlobClient, etag: string, record: BackupRecord, ctx: BlobContext) {
        const stored = await downloadAll(client, etag);
        const digest = sha256Hex(stored);
        if (digest !== record.sha256.toLowerCase() || stored.length !== record.sizeBytes) {
            throw blobError(
                "read back",
                ctx,
                `the stored blob has ${stored.length} bytes with SHA-256 ${digest}, ` +
                    `expected ${record.sizeBytes} bytes with ${record.sha256}`,
                "HashMismatch",
            );
        }
    }

    /** Deletes the blob only if it is still the one this call wrote; says what happened, as a sentence. */
    private async removeOwn(client: BlockBlobClient, etag: string, ctx: BlobContext): Promise<string> {
        try {
            await client.delete({ conditions: { ifMatch: etag } });
            return "The blob this write created was removed; nothing was left behind.";
        } catch (e) {
            const failure = translateBlobError(e, "remove", ctx);
            if (failure.statusCode === 404) return "Nothing was left behind.";
            if (failure.statusCode === 412) return "The blob was changed by someone else meanwhile, so it was left alone.";
            const why = [failure.statusCode, failure.code].filter((x) => x !== undefined).join(" ");
            return `The blob this write created could not be removed (${why}); remove ${redactUrl(client.url)} by hand.`;
        }
    }
}

/** Whether a failed create might still have stored the blob: a 409 (maybe after our own retry) or a connection lost mid-request. */
function mayHaveLanded(e: unknown): boolean {
    const err = e as { statusCode?: number; code?: string; name?: string; message?: string };
    if (err.statusCode !== undefined) return err.statusCode === 409;
    const neverSent = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(`${err.code} ${err.message}`);
    const network = err.code === "REQUEST_SEND_ERROR" || /^E[A-Z]+$/.test(err.code ?? "") || err.name === "AbortError";
    return network && !neverSent;
}

function metadataFor(record: BackupRecord, writeId: string): Record<string, string> {
    return {
        [BLOB_METADATA.sha256]: record.sha256,
        [BLOB_METADATA.sizeBytes]: String(record.sizeBytes),
        [BLOB_METADATA.vaultUrl]: record.vaultUrl,
        [BLOB_METADATA.secretName]: record.secretName,
        [BLOB_METADATA.backedUpAt]: record.backedUpAt,
        [BLOB_METADATA.writeId]: writeId,
        ...(record.kind && record.kind !== "secret" ? { [BLOB_METADATA.kind]: record.kind } : {}),
    };
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

/** The whole blob in memory; with `etag`, only if the blob is still that version. */
async function downloadAll(client: BlockBlobClient, etag?: string): Promise<Buffer> {
    const response = await client.download(0, undefined, etag ? { conditions: { ifMatch: etag } } : {});
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody!) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}
