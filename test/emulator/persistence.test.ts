import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as net from "node:net";
import type { RunningEmulator } from "../../emulator";
import * as errors from "../../emulator/errors";
import { assertKeyVaultError, certificateClientFor, credentialFor, keyClientFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { CryptographyClient } from "@azure/keyvault-keys";
import { rawRequest } from "./raw";
import { scratchRoot } from "../helpers/paths";
import sinon from "sinon";
import { Store } from "../../emulator/store";
import { initialState } from "../../emulator/seed";

describe("emulator: persistence (--data) and seeds", () => {
    const running: RunningEmulator[] = [];
    const start = async (...args: Parameters<typeof startTestEmulator>) => {
        const e = await startTestEmulator(...args);
        running.push(e);
        return e;
    };
    afterEach(async () => {
        await Promise.all(running.splice(0).map((e) => e.close()));
    });
    const freshDir = () => {
        const dir = path.join(scratchRoot, uniqueName("emulator-data"));
        fs.mkdirSync(scratchRoot, { recursive: true });
        return dir;
    };

    it("keeps keys, certificates (with their key and secret) and a pending creation across restarts; a data file from before keys loads", async () => {
        const dataDir = freshDir();
        const first = await start({ vaults: ["kc-vault"], dataDir, certificateDelayMs: 60_000 });
        const key = await keyClientFor(first, "kc-vault").createKey("kept-key", "EC");
        await certificateClientFor(first, "kc-vault").beginCreateCertificate("kept-cert", { issuerName: "Self", subject: "CN=kept" }); // sends the create
        await first.close();
        const second = await start({ vaults: ["kc-vault"], dataDir });
        assert.equal((await keyClientFor(second, "kc-vault").getKey("kept-key")).id, key.id);
        const sig = await new CryptographyClient(key.id!, credentialFor(second), { disableChallengeResourceVerification: true }).sign("ES256", Buffer.alloc(32, 1));
        assert.equal(sig.result.length, 64, "the private part survived");
        // the creation was still pending at close (60 s): it is still pending, not lost
        const token = (await credentialFor(second).getToken("https://vault.azure.net/.default")).token;
        const pending = await rawRequest(`${second.vaults["kc-vault"]}/certificates/kept-cert/pending?api-version=7.4`, { token });
        assert.equal(pending.status, 200);
        assert.equal(pending.json.status, "inProgress");
        await second.close();

        const file = path.join(dataDir, "state.json");
        const state = JSON.parse(fs.readFileSync(file, "utf8"));
        delete state.vaults["kc-vault"].keys;
        delete state.vaults["kc-vault"].certificates;
        fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
        const third = await start({ vaults: ["kc-vault"], dataDir });
        const names: string[] = [];
        for await (const k of keyClientFor(third, "kc-vault").listPropertiesOfKeys()) names.push(k.name);
        assert.deepEqual(names, [], "an older data file (secrets only) loads with no keys");
    });

    it("keeps secrets, soft-deleted state, principals, tenant and backup key across restarts", async () => {
        const dataDir = freshDir();
        const first = await start({ vaults: ["keep-vault"], dataDir });
        const c1 = secretClientFor(first, "keep-vault");
        const kept = await c1.setSecret("kept", "value-1");
        await c1.setSecret("gone", "value-2");
        await (await c1.beginDeleteSecret("gone", { intervalInMs: 10 })).pollUntilDone();
        const blob = (await c1.backupSecret("kept"))!;
        await first.close();

        const file = path.join(dataDir, "state.json");
        assert.equal(fs.statSync(file).mode & 0o777, 0o600, "the data file holds secret values");
        assert.deepEqual(fs.readdirSync(dataDir).filter((f) => f.endsWith(".tmp")), [], "no temp files left");

        const second = await start({ dataDir });
        assert.equal(second.tenantId, first.tenantId);
        assert.deepEqual(second.principals, first.principals);
        const c2 = secretClientFor(second, "keep-vault");
        const got = await c2.getSecret("kept");
        assert.equal(got.value, "value-1");
        assert.equal(got.properties.version, kept.properties.version);
        assert.ok(await c2.getDeletedSecret("gone"));
        await (await c2.beginDeleteSecret("kept", { intervalInMs: 10 })).pollUntilDone();
        await c2.purgeDeletedSecret("kept");
        assert.equal((await c2.restoreSecretBackup(blob)).version, kept.properties.version, "the backup key survived the restart");
    });

    it("keeps each vault's URL across restarts (its port), and falls back to a free port when it was taken", async () => {
        const dataDir = freshDir();
        const first = await start({ vaults: ["port-vault"], dataDir });
        const url = first.vaults["port-vault"];
        await first.close();
        const second = await start({ dataDir });
        assert.equal(second.vaults["port-vault"], url, "same URL after a restart");
        await secretClientFor(second, "port-vault").setSecret("still-works", "v");
        await second.close();

        const squatter = net.createServer().listen(Number(new URL(url).port), "127.0.0.1");
        await new Promise((r) => squatter.once("listening", r));
        try {
            const third = await start({ dataDir });
            assert.notEqual(third.vaults["port-vault"], url, "a taken port is not shared");
            assert.equal((await secretClientFor(third, "port-vault").getSecret("still-works")).value, "v");
        } finally {
            squatter.close();
        }
    });

    it("listens on the ports asked for in vaultPorts", async () => {
        const probe = net.createServer().listen(0, "127.0.0.1");
        await new Promise((r) => probe.once("listening", r));
        const port = (probe.address() as net.AddressInfo).port;
        await new Promise((r) => probe.close(r));
        const e = await start({ vaults: ["fixed"], vaultPorts: { fixed: port } });
        assert.equal(e.vaults.fixed, `https://127.0.0.1:${port}`);
    });

    it("a save that fails (disk full) throws and leaves no temporary file (it would hold secret values) in the data folder", () => {
        const dataDir = freshDir();
        const store = Store.open(dataDir, () => initialState({}, ["full-vault"], undefined));
        // The module object itself (not the import wrapper), so the store's calls see the stub.
        const realFs = require("node:fs") as typeof fs;
        const stub = sinon.stub(realFs, "writeSync").throws(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
        try {
            assert.throws(() => store.save(), /ENOSPC/);
        } finally {
            stub.restore();
        }
        assert.deepEqual(fs.readdirSync(dataDir).filter((f) => f.endsWith(".tmp")), []);
        assert.ok(fs.existsSync(path.join(dataDir, "state.json")), "the earlier state file stays");
    });

    it("refuses to start on a damaged data file, naming it, and leaves it as it was", async () => {
        const dataDir = freshDir();
        fs.mkdirSync(dataDir, { recursive: true });
        const file = path.join(dataDir, "state.json");
        fs.writeFileSync(file, '{"format":"keyvault-emulator-state/1","tenantId":"t"');
        await assert.rejects(startTestEmulator({ dataDir }), (e: Error) => {
            assert.ok(e.message.includes(file), e.message);
            assert.match(e.message, /damaged/);
            return true;
        });
        assert.equal(fs.readFileSync(file, "utf8"), '{"format":"keyvault-emulator-state/1","tenantId":"t"');
        fs.writeFileSync(file, JSON.stringify({ format: "keyvault-emulator-state/1", tenantId: "t", backupKey: "k", principals: [], vaults: { v: { name: "v", secrets: { s: { name: "s", versions: [] } } } } }));
        await assert.rejects(startTestEmulator({ dataDir }), /secret "s" in vault "v" has no versions/);
    });

    it("creates vaults, secrets, principals and access policies from a seed file", async () => {
        const dir = freshDir();
        fs.mkdirSync(dir, { recursive: true });
        const seedFile = path.join(dir, "seed.json");
        fs.writeFileSync(
            seedFile,
            JSON.stringify({
                principals: [
                    { clientId: "11111111-1111-1111-1111-111111111111", clientSecret: "seeded-secret-one", permissions: ["get", "list", "set", "backup"] },
                    { clientId: "22222222-2222-2222-2222-222222222222", clientSecret: "seeded-secret-two", permissions: ["get"] },
                ],
                vaults: {
                    "seeded-vault": {
                        secrets: { plain: "hello", typed: { value: "{}", contentType: "application/json", tags: { a: "b" } }, versioned: { versions: [{ value: "old" }, { value: "new" }] } },
                        accessPolicies: { "22222222-2222-2222-2222-222222222222": ["get", "list", "backup"] },
                    },
                },
            }),
        );
        const e = await start({ seed: seedFile });
        assert.deepEqual(Object.keys(e.vaults), ["seeded-vault"]);
        assert.equal(e.principals[0].clientId, "11111111-1111-1111-1111-111111111111");
        const c = secretClientFor(e, "seeded-vault");
        assert.equal((await c.getSecret("plain")).value, "hello");
        assert.equal((await c.getSecret("typed")).properties.contentType, "application/json");
        const versions: string[] = [];
        for await (const v of c.listPropertiesOfSecretVersions("versioned")) versions.push(v.version!);
        assert.equal(versions.length, 2);
        assert.equal((await c.getSecret("versioned")).value, "new");
        const caller = { appId: e.principals[0].clientId, objectId: e.principals[0].objectId, tenantId: e.tenantId };
        await assertKeyVaultError(c.beginDeleteSecret("plain"), errors.accessDenied(caller, "delete", "seeded-vault", "local"));
        assert.ok(await secretClientFor(e, "seeded-vault", 1).backupSecret("plain"), "the vault's access policy widens principal [1]");
    });

    it("rejects a bad seed with an error naming the place", async () => {
        await assert.rejects(startTestEmulator({ seed: { vaults: { "bad-seed": { secrets: { bad_name: "x" } } } } }), /seed: vault "bad-seed": secret "bad_name": The request URI contains an invalid name/);
        await assert.rejects(startTestEmulator({ seed: { principals: [{ clientId: "a", clientSecret: "b", permissions: ["read"] }] } }), /seed: principals\[0\]: unknown secret permission "read"/);
        await assert.rejects(startTestEmulator({ seed: path.join(scratchRoot, "no-such-seed.json") }), /cannot read the seed file .*no-such-seed\.json/);
        await assert.rejects(startTestEmulator({ vaults: ["x"] }), /invalid vault name "x"/);
    });
});
