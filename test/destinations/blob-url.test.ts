import { strict as assert } from "node:assert";
import { BlobDestination, looksLikeBlobDestination, parseBlobDestination, parseBlobLocation } from "../../provider/destinations/blob";

describe("blob destination URLs", () => {
    const good: [string, { accountUrl: string; account: string; container: string; prefix: string }][] = [
        ["https://acct.blob.core.windows.net/backups", { accountUrl: "https://acct.blob.core.windows.net", account: "acct", container: "backups", prefix: "" }],
        ["https://acct.blob.core.windows.net/backups/", { accountUrl: "https://acct.blob.core.windows.net", account: "acct", container: "backups", prefix: "" }],
        ["https://acct.blob.core.windows.net/backups/prod/kv", { accountUrl: "https://acct.blob.core.windows.net", account: "acct", container: "backups", prefix: "prod/kv/" }],
        ["https://acct.blob.core.windows.net/backups/prod/kv/", { accountUrl: "https://acct.blob.core.windows.net", account: "acct", container: "backups", prefix: "prod/kv/" }],
        ["https://ACCT.Blob.Core.Windows.Net/backups/a%20b", { accountUrl: "https://acct.blob.core.windows.net", account: "acct", container: "backups", prefix: "a b/" }],
        ["https://cnacct.blob.core.chinacloudapi.cn/c-1", { accountUrl: "https://cnacct.blob.core.chinacloudapi.cn", account: "cnacct", container: "c-1", prefix: "" }],
        ["https://govacct.blob.core.usgovcloudapi.net/abc", { accountUrl: "https://govacct.blob.core.usgovcloudapi.net", account: "govacct", container: "abc", prefix: "" }],
        ["https://zacct.z12.blob.storage.azure.net/abc/p", { accountUrl: "https://zacct.z12.blob.storage.azure.net", account: "zacct", container: "abc", prefix: "p/" }],
        ["https://127.0.0.1:10000/devstoreaccount1/backups/x", { accountUrl: "https://127.0.0.1:10000/devstoreaccount1", account: "devstoreaccount1", container: "backups", prefix: "x/" }],
        ["https://localhost:4444/devstoreaccount1/backups", { accountUrl: "https://localhost:4444/devstoreaccount1", account: "devstoreaccount1", container: "backups", prefix: "" }],
        ["https://[::1]:4444/devstoreaccount1/backups", { accountUrl: "https://[::1]:4444/devstoreaccount1", account: "devstoreaccount1", container: "backups", prefix: "" }],
    ];
    for (const [url, expected] of good) {
        it(`accepts ${url}`, () => {
            assert.deepEqual(parseBlobDestination(url), { ok: true, ...expected });
        });
    }

    const bad: [string, RegExp][] = [
        ["http://acct.blob.core.windows.net/backups", /must use https/],
        ["https://acct.blob.core.windows.net/backups?sv=2024&sig=SECRETSIG", /query string.*SAS/],
        ["https://acct.blob.core.windows.net/", /names no container/],
        ["https://acct.blob.core.windows.net", /names no container/],
        ["https://acct.blob.core.windows.net/Backups", /container name "Backups" is invalid/],
        ["https://acct.blob.core.windows.net/ab", /container name "ab" is invalid/],
        ["https://acct.blob.core.windows.net/a--b", /container name "a--b" is invalid/],
        ["https://my-acct.blob.core.windows.net/backups", /account name "my-acct"/],
        ["https://acct.blob.core.windows.net:8443/backups", /takes no port/],
        ["https://example.com/backups", /host "example.com" is not a Blob Storage endpoint/],
        ["https://myvault.vault.azure.net/backups", /not a Blob Storage endpoint/],
        ["https://acct.blob.core.windows.net/backups/a//b", /empty path segment/],
        ["https://acct.blob.core.windows.net/backups/../other", /`\.` or `\.\.` segment/],
        ["https://acct.blob.core.windows.net/backups/%2E%2E/other", /`\.` or `\.\.` segment/],
        ["https://user:pw@acct.blob.core.windows.net/backups", /user name or password/],
        ["https://127.0.0.1:10000/backups", /account as its first path segment|names no container/],
        ["https://127.0.0.1:10000/", /account as its first path segment/],
        ["https://acct.blob.core.windows.net/backups/%E0%A4%A", /malformed %-escape/],
        [`https://acct.blob.core.windows.net/backups/${"p".repeat(950)}`, /prefix is 951 characters/],
    ];
    for (const [url, reason] of bad) {
        it(`refuses ${url.slice(0, 70)} with a reason`, () => {
            const r = parseBlobDestination(url);
            assert.equal(r.ok, false);
            assert.match((r as { reason: string }).reason, reason);
            assert.doesNotMatch((r as { reason: string }).reason, /SECRETSIG/);
        });
    }

    it("parses a location into account, container and decoded blob name", () => {
        assert.deepEqual(parseBlobLocation("https://acct.blob.core.windows.net/backups/prod/a%20b.kvbackup"), {
            ok: true,
            accountUrl: "https://acct.blob.core.windows.net",
            account: "acct",
            container: "backups",
            blobName: "prod/a b.kvbackup",
        });
        assert.equal(parseBlobLocation("https://acct.blob.core.windows.net/backups").ok, false);
        assert.equal(parseBlobLocation("https://acct.blob.core.windows.net/backups/").ok, false);
    });

    it("routes every http(s) string to Blob Storage and everything else to folders", () => {
        assert.equal(looksLikeBlobDestination("https://acct.blob.core.windows.net/c"), true);
        assert.equal(looksLikeBlobDestination("HTTP://example.com/x"), true);
        assert.equal(looksLikeBlobDestination("./secret-backups"), false);
        assert.equal(looksLikeBlobDestination("/var/backups/https:"), false);
        assert.equal(looksLikeBlobDestination("file:///tmp/x"), false);
    });

    it("never repeats a SAS token or password from a refused URL in the constructor's error", () => {
        const credential = { getToken: async () => null };
        for (const url of ["https://acct.blob.core.windows.net/c?sv=1&sig=SECRETSIG", "https://u:SECRETPW@acct.blob.core.windows.net/c"]) {
            assert.throws(
                () => new BlobDestination(url, credential),
                (e: Error) => /destination "https:\/\/(\*\*\*@)?acct\.blob\.core\.windows\.net\/c(\?\*\*\*)?" is not usable/.test(e.message) && !/SECRET/.test(e.message),
            );
        }
    });
});
