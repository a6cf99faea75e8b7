import { strict as assert } from "node:assert";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import * as jose from "jose";
import { BackupRecord, backupObjectName } from "../../provider/destinations/destination";
import { BlobDestination, BlobStorageError } from "../../provider/destinations/blob";
import { RunningAzurite, startAzurite } from "../helpers/azurite";

/** TEMPORARY until the emulator lands: an unsigned token with the claims Azurite checks. */
function mintedCredential(audience = "https://storage.azure.com"): TokenCredential {
    return {
        async getToken(): Promise<AccessToken> {
            const now = Math.floor(Date.now() / 1000);
            const token = new jose.UnsecuredJWT({ tid: "t" })
                .setAudience(audience)
                .setIssuer("https://sts.windows.net/00000000-0000-0000-0000-000000000000/")
                .setIssuedAt(now - 60)
                .setNotBefore(now - 60)
                .setExpirationTime(now + 3600)
                .encode();
            return { token, expiresOnTimestamp: (now + 3600) * 1000 };
        },
    };
}

function recordFor(blob: Uint8Array, secretName: string, backedUpAt = new Date().toISOString()): BackupRecord {
    return {
        vaultUrl: "https://127.0.0.1:41234",
        secretName,
        backedUpAt,
        sha256: createHash("sha256").update(blob).digest("hex"),
        sizeBytes: blob.length,
    };
}

const FAST_RETRY = { maxTries: 2, retryDelayInMs: 50, maxRetryDelayInMs: 100 };

describe("Blob Storage destination (Azurite, HTTPS + OAuth)", function () {
    this.timeout(30_000);
    let azurite: RunningAzurite;
    let credential: TokenCredential;
    let service: BlobServiceClient;

    before(async () => {
        azurite = await startAzurite();
        console.log(`      (Azurite started in ${azurite.startupMs} ms)`);
        credential = mintedCredential();
        service = new BlobServiceClient(azurite.accountUrl, credential, { retryOptions: FAST_RETRY });
    });
    after(async () => {
        await azurite?.stop();
    });

    async function newContainer(): Promise<ContainerClient> {
        const container = service.getContainerClient(`c-${randomUUID().slice(0, 8)}`);
        await container.create();
        return container;
    }
    async function blobNames(container: ContainerClient): Promise<string[]> {
        const names: string[] = [];
        for await (const b of container.listBlobsFlat()) names.push(b.name);
        return names;
    }
    function destinationFor(container: ContainerClient, prefix = "", cred = credential) {
        return new BlobDestination(`${container.url}/${prefix}`, cred, { retry: FAST_RETRY });
    }

    it("writes a backup, returns its URL, and verifies it as ok with the recorded hash", async () => {
        const container = await newContainer();
        const blob = randomBytes(4000);
        const record = recordFor(blob, "db-password");
        const dest = destinationFor(container, "prod/kv");
        const location = await dest.write(blob, record);
        assert.equal(location, `${container.url}/prod/kv/${backupObjectName(record)}`);
        assert.deepEqual(await blobNames(container), [`prod/kv/${backupObjectName(record)}`]);
        assert.equal(await dest.verify(location, record.sha256), "ok");
        assert.deepEqual(Buffer.from(await dest.read(location)), blob);
    });

    it("stores the hash and the source vault, secret and time as blob metadata", async () => {
        const container = await newContainer();
        const blob = randomBytes(300);
        const record = recordFor(blob, "api-key");
        const location = await destinationFor(container).write(blob, record);
        const props = await container.getBlockBlobClient(backupObjectName(record)).getProperties();
        assert.equal(location, container.getBlockBlobClient(backupObjectName(record)).url);
        assert.equal(props.metadata?.sha256, record.sha256);
        assert.equal(props.metadata?.sizebytes, "300");
        assert.equal(props.metadata?.sourcevault, record.vaultUrl);
        assert.equal(props.metadata?.sourcesecret, "api-key");
        assert.equal(props.metadata?.backedupat, record.backedUpAt);
        assert.equal(props.contentLength, 300);
    });

    it("keeps every backup: two writes of one secret make two blobs, both ok", async () => {
        const container = await newContainer();
        const dest = destinationFor(container);
        const first = randomBytes(100);
        const second = randomBytes(100);
        const a = await dest.write(first, recordFor(first, "rotating", "2026-11-27T17:00:00.000Z"));
        const b = await dest.write(second, recordFor(second, "rotating", "2026-11-27T17:00:00.001Z"));
        assert.notEqual(a, b);
        assert.equal((await blobNames(container)).length, 2);
        assert.equal(await dest.verify(a, recordFor(first, "x").sha256), "ok");
        assert.equal(await dest.verify(b, recordFor(second, "x").sha256), "ok");
    });

    it("refuses to overwrite a blob that already has the name, and leaves that blob untouched", async () => {
        const container = await newContainer();
        const blob = randomBytes(200);
        const record = recordFor(blob, "taken");
        const theirs = container.getBlockBlobClient(backupObjectName(record));
        await theirs.upload("someone else's data", 19);
        const before = await theirs.getProperties();
        await assert.rejects(destinationFor(container).write(blob, record), (e: BlobStorageError) => {
            assert.equal(e.statusCode, 409);
            assert.equal(e.code, "BlobAlreadyExists");
            assert.match(e.message, /account "devstoreaccount1", container "c-[0-9a-f]{8}"/);
            assert.match(e.message, /already exists .*left untouched/);
            return true;
        });
        const after = await theirs.getProperties();
        assert.equal(after.etag, before.etag);
        assert.equal((await theirs.downloadToBuffer()).toString(), "someone else's data");
    });

    it("fails with Storage's 404 ContainerNotFound, naming account and container and saying to create it", async () => {
        const name = `missing-${randomUUID().slice(0, 8)}`;
        const dest = new BlobDestination(`${azurite.accountUrl}/${name}/p`, credential, { retry: FAST_RETRY });
        const blob = randomBytes(10);
        await assert.rejects(dest.write(blob, recordFor(blob, "s")), (e: BlobStorageError) => {
            assert.equal(e.statusCode, 404);
            assert.equal(e.code, "ContainerNotFound");
            assert.ok(e.requestId, "keeps the request id");
            assert.equal(e.account, "devstoreaccount1");
            assert.equal(e.container, name);
            assert.match(e.message, new RegExp(`^Blob Storage write failed for account "devstoreaccount1", container "${name}"`));
            assert.match(e.message, /404 ContainerNotFound \(request id [0-9a-f-]+\)/);
            assert.match(e.message, new RegExp(`Create the container "${name}"`));
            return true;
        });
    });

    it("fails with Storage's 403 when the token is not for Storage, and says which role to grant", async () => {
        const container = await newContainer();
        const dest = destinationFor(container, "", mintedCredential("https://vault.azure.net"));
        const blob = randomBytes(10);
        await assert.rejects(dest.write(blob, recordFor(blob, "s")), (e: BlobStorageError) => {
            assert.equal(e.statusCode, 403);
            assert.equal(e.code, "AuthenticationFailed");
            assert.ok(e.requestId);
            assert.match(e.message, /account "devstoreaccount1", container "c-/);
            assert.match(e.message, /Invalid token audience/);
            assert.match(e.message, /Storage Blob Data Contributor/);
            assert.doesNotMatch(e.message, /eyJ|Bearer/);
            return true;
        });
        assert.deepEqual(await blobNames(container), []);
    });

    it("fails with a network error naming the account when Azurite is down", async () => {
        const other = await startAzurite();
        const url = `${other.accountUrl}/backups`;
        await other.stop();
        const dest = new BlobDestination(url, credential, { retry: FAST_RETRY });
        const blob = randomBytes(10);
        const started = Date.now();
        await assert.rejects(dest.write(blob, recordFor(blob, "s")), (e: BlobStorageError) => {
            assert.equal(e.statusCode, undefined);
            assert.equal(e.code, "ECONNREFUSED");
            assert.match(e.message, /^Blob Storage write failed for account "devstoreaccount1", container "backups"/);
            assert.match(e.message, /ECONNREFUSED/);
            assert.match(e.message, /Could not reach the account "devstoreaccount1".*check that it is running/);
            return true;
        });
        assert.ok(Date.now() - started < 5000);
    });

    it("verify says missing after the blob is deleted and changed after someone else overwrites it", async () => {
        const container = await newContainer();
        const dest = destinationFor(container);
        const blobs = [randomBytes(50), randomBytes(50)];
        const records = blobs.map((b, i) => recordFor(b, `v${i}`));
        const [gone, altered] = await Promise.all(blobs.map((b, i) => dest.write(b, records[i])));
        await container.getBlockBlobClient(backupObjectName(records[0])).delete();
        await container.getBlockBlobClient(backupObjectName(records[1])).upload("tampered", 8);
        assert.equal(await dest.verify(gone, records[0].sha256), "missing");
        assert.equal(await dest.verify(altered, records[1].sha256), "changed");
        await container.delete();
        assert.equal(await dest.verify(altered, records[1].sha256), "missing");
        await assert.rejects(dest.read(gone), (e: BlobStorageError) => e.statusCode === 404 && /BlobNotFound|ContainerNotFound/.test(e.message));
    });

    it("leaves nothing behind when the read-back does not match the hash", async () => {
        const container = await newContainer();
        const blob = randomBytes(500);
        const record = { ...recordFor(blob, "mismatch"), sha256: "0".repeat(64) };
        await assert.rejects(destinationFor(container).write(blob, record), (e: BlobStorageError) => {
            assert.equal(e.code, "HashMismatch");
            assert.match(e.message, /^Blob Storage read back failed for account "devstoreaccount1", container "c-/);
            assert.match(e.message, /nothing was left behind/);
            return true;
        });
        assert.deepEqual(await blobNames(container), []);
    });
});
