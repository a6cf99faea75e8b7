import { strict as assert } from "node:assert";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { ClientSecretCredential, type TokenCredential } from "@azure/identity";
import { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import * as net from "node:net";
import { BackupRecord, backupObjectName } from "../../provider/destinations/destination";
import { BlobDestination, BlobStorageError } from "../../provider/destinations/blob";
import type { RunningEmulator } from "../../emulator";
import { RunningAzurite, startAzurite } from "../helpers/azurite";
import { credentialFor, startTestEmulator } from "../helpers/emulator";

/** The emulator's real token, but asked for Key Vault's audience whatever scope Storage wants: Storage refuses it. */
function wrongAudience(credential: TokenCredential): TokenCredential {
    return { getToken: (_scopes, options) => credential.getToken("https://vault.azure.net/.default", options) };
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

/**
 * A TCP relay in front of Azurite that can lose one reply: once armed, the first bytes Azurite sends
 * after the client has sent `afterBytes` on a connection are dropped and the connection cut, as a
 * network failure between a committed write and its response would.
 */
async function lossyRelay(targetPort: number) {
    const sockets = new Set<net.Socket>();
    let armedAfter: number | undefined;
    let dropped = 0;
    const server = net.createServer((client) => {
        const upstream = net.connect(targetPort, "127.0.0.1");
        let sent = 0;
        for (const s of [client, upstream]) {
            sockets.add(s);
            s.on("error", () => undefined);
            s.on("close", () => sockets.delete(s));
        }
        client.on("data", (d: Buffer) => {
            sent += d.length;
            upstream.write(d);
        });
        upstream.on("data", (d: Buffer) => {
            if (armedAfter !== undefined && sent >= armedAfter) {
                armedAfter = undefined;
                dropped++;
                client.destroy();
                upstream.destroy();
                return;
            }
            client.write(d);
        });
        client.on("end", () => upstream.end());
        upstream.on("end", () => client.end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        port: (server.address() as net.AddressInfo).port,
        loseNextReplyAfter(bytes: number) {
            armedAfter = bytes;
        },
        dropped: () => dropped,
        close: () => {
            for (const s of sockets) s.destroy();
            return new Promise<void>((r) => server.close(() => r()));
        },
    };
}

const FAST_RETRY = { maxTries: 2, retryDelayInMs: 50, maxRetryDelayInMs: 100 };

describe("Blob Storage destination (Azurite, HTTPS + OAuth)", function () {
    this.timeout(30_000);
    let azurite: RunningAzurite;
    let emulator: RunningEmulator;
    let credential: TokenCredential;
    let service: BlobServiceClient;

    before(async () => {
        [azurite, emulator] = await Promise.all([startAzurite(), startTestEmulator()]);
        console.log(`      (Azurite started in ${azurite.startupMs} ms)`);
        credential = credentialFor(emulator, 0);
        service = new BlobServiceClient(azurite.accountUrl, credential, { retryOptions: FAST_RETRY });
    });
    after(async () => {
        await Promise.all([azurite?.stop(), emulator?.close()]);
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

    it("round-trips a prefix with spaces and non-ASCII characters through the location URL", async () => {
        const container = await newContainer();
        const blob = randomBytes(64);
        const record = recordFor(blob, "odd-prefix");
        const dest = new BlobDestination(`${container.url}/team%20a/%C3%A9t%C3%A9`, credential, { retry: FAST_RETRY });
        assert.equal(dest.address.prefix, "team a/été/");
        const location = await dest.write(blob, record);
        assert.deepEqual(await blobNames(container), [`team a/été/${backupObjectName(record)}`]);
        assert.equal(await dest.verify(location, record.sha256), "ok");
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
            assert.match(e.message, /409 BlobAlreadyExists \(request id [0-9a-f-]+\): The specified blob already exists\. It was left untouched/);
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
        const dest = destinationFor(container, "", wrongAudience(credential));
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

    it("fails before any write when the credential cannot get a token, without echoing the secret", async () => {
        const container = await newContainer();
        const p = emulator.principals[0];
        const badSecret = `wrong-${randomUUID()}`;
        const failing = new ClientSecretCredential(emulator.tenantId, p.clientId, badSecret, {
            authorityHost: emulator.authorityHost,
            disableInstanceDiscovery: true,
        });
        const blob = randomBytes(10);
        await assert.rejects(destinationFor(container, "", failing).write(blob, recordFor(blob, "s")), (e: BlobStorageError) => {
            assert.equal(e.statusCode, undefined);
            assert.match(e.code ?? "", /^Authentication(Required)?Error$/);
            assert.match(e.message, /^Blob Storage write failed for account "devstoreaccount1", container "c-/);
            assert.match(e.message, /AADSTS7000215/);
            assert.match(e.message, /Could not get a token for Azure Storage: check the credential/);
            assert.doesNotMatch(e.message, new RegExp(badSecret));
            assert.doesNotMatch(e.message, new RegExp(p.clientSecret));
            return true;
        });
        assert.deepEqual(await blobNames(container), []);
    });

    it("fails with a network error naming the account when Azurite is down", async () => {
        const other = await startAzurite();
        const url = `${other.accountUrl}/backups`;
        await other.stop();
        const dest = new BlobDestination(url, credential); // the default retry policy, as users get it
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
        const elapsed = Date.now() - started;
        assert.ok(elapsed > 2000 && elapsed < 15_000, `gave up after ${elapsed} ms: retried, but not for long`);
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

    it("recognises its own blob when the reply to the create is lost and the retry finds the name taken", async () => {
        const container = await newContainer();
        const relay = await lossyRelay(azurite.port);
        try {
            const url = `https://127.0.0.1:${relay.port}/${azurite.account}/${container.containerName}`;
            const dest = new BlobDestination(url, credential, { retry: FAST_RETRY });
            const blob = randomBytes(256 * 1024);
            const record = recordFor(blob, "lost-reply");
            relay.loseNextReplyAfter(200 * 1024);
            const location = await dest.write(blob, record);
            assert.equal(relay.dropped(), 1, "the reply to the first create was lost");
            assert.deepEqual(await blobNames(container), [backupObjectName(record)]);
            assert.equal(await dest.verify(location, record.sha256), "ok");
        } finally {
            await relay.close();
        }
    });
});
