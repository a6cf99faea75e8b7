import * as assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import * as errors from "../../emulator/errors";
import { Faults, SERVICE_LIMITS } from "../../emulator/faults";
import { challengeFor } from "../../emulator/auth";
import { assertKeyVaultError, credentialFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest } from "./raw";

describe("emulator: throttling and scripted faults", () => {
    describe("throttle limits (clock passed in)", () => {
        it("defaults to the service's 4,000 operations and 300 creations per 10 s, per vault", () => {
            assert.deepEqual(SERVICE_LIMITS, { operations: 4000, creations: 300, windowMs: 10_000 });
            const f = new Faults(undefined);
            const t0 = 1_000_000;
            for (let i = 0; i < 4000; i++) assert.ok(f.admit("v", false, t0 + i));
            assert.equal(f.admit("v", false, t0 + 4000), false, "operation 4,001 within 10 s");
            assert.ok(f.admit("other", false, t0 + 4000), "another vault has its own budget");
            for (let i = 0; i < 300; i++) assert.ok(f.admit("v", true, t0 + i));
            assert.equal(f.admit("v", true, t0 + 300), false, "creation 301 within 10 s");
            assert.ok(f.admit("v", false, t0 + 10_001), "the window slides: the oldest operations age out");
        });
    });

    describe("over HTTPS", () => {
        let emulator: RunningEmulator;
        let token: string;
        let challenge: string;
        before(async () => {
            emulator = await startTestEmulator({ vaults: ["fault-vault", "quiet-vault"] });
            challenge = challengeFor(emulator.authorityHost, emulator.tenantId);
            token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        });
        afterEach(() => {
            emulator.faults.clear();
            emulator.faults.setLatency(0);
            emulator.faults.setThrottle(false);
        });
        after(async () => {
            await emulator?.close();
        });

        it("answers 429 Throttled without Retry-After once a vault's operations or creations run out", async () => {
            emulator.faults.setThrottle({ operations: 3, creations: 2, windowMs: 60_000 });
            const base = emulator.vaults["fault-vault"];
            const put = (n: string) => rawRequest(`${base}/secrets/${n}?api-version=7.4`, { method: "PUT", token, body: { value: "v" } });
            const name = uniqueName("throttle");
            assert.equal((await put(name)).status, 200);
            assert.equal((await put(name)).status, 200);
            const refused = await put(name);
            assert.equal(refused.status, 429);
            assert.deepEqual(refused.json, errors.throttled().toBody());
            assert.equal(refused.headers["retry-after"], undefined);
            assert.equal(refused.headers["retry-after-ms"], undefined);
            for (let i = 0; i < 3; i++) assert.equal((await rawRequest(`${base}/secrets/${name}/?api-version=7.4`, { token })).status, 200);
            await assertKeyVaultError(secretClientFor(emulator, "fault-vault").getSecret(name), errors.throttled());
            assert.equal((await rawRequest(`${emulator.vaults["quiet-vault"]}/secrets?api-version=7.4`, { token })).status, 200, "other vaults are not affected");
        });

        it("answers scripted statuses for the matching operation only, then recovers", async () => {
            const client = secretClientFor(emulator, "fault-vault");
            const name = uniqueName("scripted");
            await client.setSecret(name, "v");
            emulator.faults.add({ kind: "status", status: 503, operation: "get", vault: "fault-vault", count: 2 });
            await assertKeyVaultError(client.getSecret(name), errors.scriptedFault(503, challenge));
            assert.ok(await client.backupSecret(name), "other operations are untouched");
            await assertKeyVaultError(client.getSecret(name), errors.scriptedFault(503, challenge));
            assert.equal((await client.getSecret(name)).value, "v");
            emulator.faults.add({ kind: "status", status: 429, operation: "backup" });
            await assertKeyVaultError(client.backupSecret(name), errors.throttled());
            // A 401 carries the challenge, so the SDK re-authenticates once: two faults are used up.
            emulator.faults.add({ kind: "status", status: 401, operation: "get", count: 2 });
            await assertKeyVaultError(client.getSecret(name), errors.scriptedFault(401, challenge));
            assert.equal((await client.getSecret(name)).value, "v");
        });

        it("drops the connection mid-response (headers sent, body cut), once per count", async () => {
            const client = secretClientFor(emulator, "fault-vault");
            const name = uniqueName("drop");
            await client.setSecret(name, "v");
            emulator.faults.add({ kind: "drop", operation: "get" });
            // The SDK's retry policy does not retry a body cut after the headers: callers must.
            await assert.rejects(client.getSecret(name), /aborted|socket hang up|ECONNRESET/);
            assert.equal((await client.getSecret(name)).value, "v");
        });

        it("adds scripted delays and latency", async () => {
            const client = secretClientFor(emulator, "fault-vault");
            const name = uniqueName("slow");
            await client.setSecret(name, "v");
            emulator.faults.add({ kind: "delay", ms: 300, operation: "get" });
            let t = Date.now();
            await client.getSecret(name);
            assert.ok(Date.now() - t >= 300, `delay fault: ${Date.now() - t} ms`);
            emulator.faults.setLatency(120);
            t = Date.now();
            await client.getSecret(name);
            assert.ok(Date.now() - t >= 120, `latency: ${Date.now() - t} ms`);
        });

        it("takes the same faults over the admin endpoint, and refuses bad ones naming the field", async () => {
            const client = secretClientFor(emulator, "fault-vault");
            const name = uniqueName("admin");
            await client.setSecret(name, "v");
            const add = await rawRequest(`${emulator.adminUrl}/faults`, { method: "POST", body: [{ kind: "status", status: 500, operation: "get" }] });
            assert.equal(add.status, 204);
            await assertKeyVaultError(client.getSecret(name), errors.scriptedFault(500, challenge));
            await rawRequest(`${emulator.adminUrl}/faults`, { method: "POST", body: { kind: "status", status: 500, count: 5 } });
            assert.equal((await rawRequest(`${emulator.adminUrl}/faults`, { method: "DELETE" })).status, 204);
            assert.equal((await client.getSecret(name)).value, "v");
            const bad = await rawRequest(`${emulator.adminUrl}/faults`, { method: "POST", body: { kind: "status", status: 200 } });
            assert.equal(bad.status, 400);
            assert.match(bad.json.error, /"status" must be an HTTP error status/);
            assert.equal((await rawRequest(`${emulator.adminUrl}/throttle`, { method: "PUT", body: { operations: 1, creations: 1, windowMs: 60_000 } })).status, 204);
            await client.getSecret(name);
            await assertKeyVaultError(client.getSecret(name), errors.throttled());
            const log = await rawRequest(`${emulator.adminUrl}/requests`);
            assert.ok(log.json.some((r: { vault: string; operation: string; status: number }) => r.vault === "fault-vault" && r.operation === "get" && r.status === 429));
        });

        it("logs every vault request with vault, method, path, operation and status", async () => {
            const before = emulator.requests().length;
            const name = uniqueName("logged");
            await secretClientFor(emulator, "quiet-vault").setSecret(name, "v");
            const seen = emulator.requests().slice(before);
            assert.deepEqual(seen.map(({ vault, method, path, operation, status }) => ({ vault, method, path, operation, status })), [
                { vault: "quiet-vault", method: "PUT", path: `/secrets/${name}`, operation: "set", status: 401 },
                { vault: "quiet-vault", method: "PUT", path: `/secrets/${name}`, operation: "set", status: 200 },
            ]);
        });
    });
});
