import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes, createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import sinon from "sinon";
import * as pulumi from "@pulumi/pulumi";
import * as ops from "../../provider/operations";
import { defaultVaultClientSettings } from "../../provider/vault-client";
import { UNKNOWN } from "../../provider/validate";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, pointAuthorityHostAt, startTestEmulator, secretClientFor, uniqueName } from "../helpers/emulator";
import { scratchRoot } from "../helpers/paths";
import { freePort } from "../helpers/ports";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every value in `v`, walked deeply, so a test can say "nothing undefined" and "no secret". */
function leaves(v: unknown): unknown[] {
    if (Array.isArray(v)) return v.flatMap(leaves);
    if (v && typeof v === "object") return Object.values(v).flatMap(leaves);
    return [v];
}

describe("SecretBackup operations against the emulator", function () {
    let emulator: RunningEmulator;
    let root: string;
    let restoreAuthorityHost = (): void => undefined;
    let logs: string[];
    const secretValues: string[] = [];

    function configFor(principal: number, extra: Record<string, string> = {}): { get(k: string): string | undefined } {
        const values = azureNativeConfig(emulator, principal, extra);
        return { get: (k) => values[k] };
    }

    /** A new secret with a random value in vault "demo"; returns its name. */
    async function newSecret(prefix: string): Promise<string> {
        const name = uniqueName(prefix);
        const value = `value-${randomBytes(12).toString("hex")}`;
        secretValues.push(value);
        await secretClientFor(emulator, "demo").setSecret(name, value);
        return name;
    }

    function inputs(secretName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
        return { vaultUrl: emulator.vaults.demo, secretName, destination: path.join(root, "backups"), ...extra };
    }

    /** Backup calls that reached the vault with a token (the SDK's first, token-less challenge request excluded). */
    function backupRequests(secretName: string): number {
        return emulator.requests().filter((r) => r.path === `/secrets/${secretName}/backup` && !isChallenge(r)).length;
    }
    function isChallenge(r: { status: number }): boolean {
        return r.status === 401;
    }
    /** The api-version query of each authenticated Backup Secret request for `secretName`, as the vault received it. */
    function backupApiVersions(secretName: string): string[] {
        return emulator.requests().filter((r) => r.path === `/secrets/${secretName}/backup` && !isChallenge(r)).map((r) => r.apiVersion);
    }

    before(async () => {
        emulator = await startTestEmulator({ vaults: ["demo", "restored"] });
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });
    beforeEach(() => {
        root = path.join(scratchRoot, `ops-${Date.now()}-${randomBytes(4).toString("hex")}`);
        ops.configure(configFor(0), { retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
        logs = [];
        for (const level of ["info", "warn", "error", "debug"] as const) {
            sinon.stub(pulumi.log, level).callsFake(async (msg: string) => void logs.push(`${level}: ${msg}`));
        }
    });
    afterEach(() => {
        sinon.restore();
        const text = logs.join("\n");
        for (const v of secretValues) assert.ok(!text.includes(v), "a secret value reached the log");
        fs.rmSync(root, { recursive: true, force: true });
    });

    describe("create", () => {
        it("backs up the secret to a new file and returns its state: hash, location, size, time, request id", async () => {
            const name = await newSecret("create");
            const started = Date.now();
            const { id, outs } = await ops.create(inputs(name));
            const elapsedMs = Date.now() - started;
            const file = fileURLToPath(outs.location);
            const bytes = fs.readFileSync(file);
            assert.equal(outs.sha256, createHash("sha256").update(bytes).digest("hex"));
            assert.equal(outs.sizeBytes, bytes.length);
            assert.equal(path.dirname(file), path.join(root, "backups"));
            assert.equal(fs.statSync(file).mode & 0o777, 0o600);
            assert.equal(id, outs.location);
            assert.ok(Math.abs(Date.parse(outs.backedUpAt) - started) < 60_000, outs.backedUpAt);
            assert.match(outs.requestId, GUID);
            assert.deepEqual(
                { vaultUrl: outs.vaultUrl, secretName: outs.secretName, apiVersion: outs.apiVersion, secretVersion: outs.secretVersion, triggers: outs.triggers },
                { vaultUrl: emulator.vaults.demo, secretName: name, apiVersion: "7.4", secretVersion: "", triggers: [] },
            );
            assert.ok(leaves(outs).every((v) => v !== undefined), "no undefined in the result");
            assert.ok(!JSON.stringify(outs).includes(secretValues.at(-1)!), "no secret value in state");
            assert.ok(!JSON.stringify(outs).includes(bytes.toString("base64url").slice(0, 40)), "no blob in state");
            assert.equal(backupRequests(name), 1);
            assert.deepEqual(backupApiVersions(name), ["7.4"], "the default API version is the one on the wire");
            assert.deepEqual(logs, [`info: backed up secret "${name}": ${bytes.length} bytes, sha256 ${outs.sha256.slice(0, 12)}, to ${outs.location}`]);
            process.stdout.write(`      (one backup against the emulator took ${elapsedMs} ms)\n`);
        });

        it("writes a real backup: restoring the file into another vault gives back the secret", async () => {
            const name = await newSecret("roundtrip");
            const { outs } = await ops.create(inputs(name));
            const restoredClient = secretClientFor(emulator, "restored");
            await restoredClient.restoreSecretBackup(fs.readFileSync(fileURLToPath(outs.location)));
            const original = await secretClientFor(emulator, "demo").getSecret(name);
            assert.equal((await restoredClient.getSecret(name)).value, original.value);
        });

        it("uses the requested apiVersion and records it", async () => {
            const name = await newSecret("api76");
            const { outs } = await ops.create(inputs(name, { apiVersion: "7.6" }));
            assert.equal(outs.apiVersion, "7.6");
            assert.deepEqual(backupApiVersions(name), ["7.6"]);
        });

        it("apiVersion given as a number (YAML config reads 7.4 as one) is accepted and kept as the string in check, diff, state and on the wire", async () => {
            const name = await newSecret("apinum");
            const checked = await ops.check({}, inputs(name, { apiVersion: 7.4 }));
            assert.deepEqual(checked.failures, []);
            assert.equal(checked.inputs.apiVersion, "7.4");
            const { outs } = await ops.create(inputs(name, { apiVersion: 7.4 }));
            assert.equal(outs.apiVersion, "7.4");
            assert.deepEqual(backupApiVersions(name), ["7.4"]);
            assert.deepEqual(await ops.diff(outs.location, outs, inputs(name, { apiVersion: 7.4 })), { changes: false, replaces: [], changedKeys: [] });
            assert.deepEqual((await ops.diff(outs.location, { ...outs, apiVersion: 7.4 }, inputs(name))).changedKeys, [], "a state written with the number is the same backup");
            assert.deepEqual((await ops.diff(outs.location, outs, inputs(name, { apiVersion: 7.5 }))).changedKeys, ["apiVersion"]);
            const { outs: seven } = await ops.update(outs.location, outs, inputs(name, { apiVersion: 7 }));
            assert.equal(seven.apiVersion, "7.0");
            assert.deepEqual(backupApiVersions(name), ["7.4", "7.0"]);
        });

        it("refuses invalid inputs before calling the vault, naming each input", async () => {
            const before = emulator.requests().length;
            await assert.rejects(ops.create(inputs("bad_name", { apiVersion: "1.0" })), (e: Error) =>
                /secretName: "bad_name" is not a valid secret name/.test(e.message) && /apiVersion: "1.0"/.test(e.message));
            assert.equal(emulator.requests().length, before);
        });

        it("a failed write fails create and leaves no file behind", async () => {
            const name = await newSecret("diskfail");
            sinon.stub(fs.promises, "link").rejects(Object.assign(new Error("ENOSPC: no space left on device, link"), { code: "ENOSPC" }));
            await assert.rejects(ops.create(inputs(name)), (e: Error) =>
                e.message.startsWith(`writing the backup of secret "${name}" from vault ${emulator.vaults.demo} to ${path.join(root, "backups")} failed: ENOSPC`) &&
                /\nWhat to do: .*nothing was written/.test(e.message));
            assert.deepEqual(fs.readdirSync(path.join(root, "backups")), []);
        });
    });

    describe("check", () => {
        it("returns (property, reason) failures for each bad input without throwing or calling the vault", async () => {
            fs.mkdirSync(root, { recursive: true });
            fs.writeFileSync(path.join(root, "a-file"), "x");
            const before = emulator.requests().length;
            const { failures } = await ops.check({}, {
                vaultUrl: "http://myvault.vault.azure.net", secretName: "no_underscores", apiVersion: "2016-10-01",
                destination: path.join(root, "a-file"), secretVersion: "not/a/version", triggers: "x",
            });
            assert.deepEqual(failures.map((f) => f.property).sort(), ["apiVersion", "destination", "secretName", "secretVersion", "triggers", "vaultUrl"]);
            assert.match(failures.find((f) => f.property === "destination")!.reason, /exists and is not a folder/);
            assert.match(failures.find((f) => f.property === "vaultUrl")!.reason, /must use https/);
            assert.equal(emulator.requests().length, before);
        });

        it("a pacing setting that is not a positive number is refused, naming the config key", () => {
            for (const bad of ["abc", "0", "-5", ""]) {
                assert.throws(() => ops.configure(configFor(0, { "secret-backup:vaultOperationsPer10Seconds": bad })),
                    /stack config secret-backup:vaultOperationsPer10Seconds must be a positive number/, bad);
            }
        });

        it("checks the default destination too: a file named secret-backups in the project is refused before any vault call", async () => {
            fs.mkdirSync(root, { recursive: true });
            fs.writeFileSync(path.join(root, "secret-backups"), "not a folder");
            const cwd = process.cwd();
            process.chdir(root);
            try {
                const { failures } = await ops.check({}, { vaultUrl: emulator.vaults.demo, secretName: "x" });
                assert.deepEqual(failures.map((f) => f.property), ["destination"]);
                assert.match(failures[0].reason, /exists and is not a folder/);
            } finally {
                process.chdir(cwd);
            }
        });

        it("fills in defaults for good inputs", async () => {
            const { inputs: checked, failures } = await ops.check({}, { vaultUrl: `${emulator.vaults.demo}/`, secretName: "x" });
            assert.deepEqual(failures, []);
            assert.deepEqual(checked, { vaultUrl: emulator.vaults.demo, secretName: "x", destination: "./secret-backups", secretVersion: "", triggers: [], apiVersion: "7.4" });
        });

        it("lets unknown values (preview) through", async () => {
            const { failures, inputs: checked } = await ops.check({}, { vaultUrl: UNKNOWN, secretName: UNKNOWN, destination: UNKNOWN, triggers: [UNKNOWN] });
            assert.deepEqual(failures, []);
            assert.equal(checked.vaultUrl, UNKNOWN);
        });
    });

    describe("diff, update, read, delete", () => {
        it("diff reports nothing when no input changed, even with a new __provider", async () => {
            const name = await newSecret("nodiff");
            const { outs } = await ops.create(inputs(name));
            const d = await ops.diff(outs.location, { ...outs, __provider: "old" }, { ...(await ops.check({}, inputs(name))).inputs, __provider: "new" });
            assert.deepEqual(d, { changes: false, replaces: [], changedKeys: [] });
        });

        it("diff names exactly the inputs that changed and never asks for a replacement", async () => {
            const name = await newSecret("diff");
            const { outs } = await ops.create(inputs(name, { triggers: ["a"] }));
            const d = await ops.diff(outs.location, outs, inputs(name, { triggers: ["b"], secretVersion: "0123abcd" }));
            assert.deepEqual(d, { changes: true, replaces: [], changedKeys: ["secretVersion", "triggers"] });
            const d2 = await ops.diff(outs.location, outs, inputs(name, { triggers: ["a"], apiVersion: "7.5", destination: UNKNOWN }));
            assert.deepEqual(d2.changedKeys, ["destination", "apiVersion"]);
        });

        it("update takes a new backup to a new file and keeps the earlier one", async () => {
            const name = await newSecret("update");
            const first = await ops.create(inputs(name, { triggers: [1] }));
            const { outs } = await ops.update(first.id, first.outs, inputs(name, { triggers: [2] }));
            assert.notEqual(outs.location, first.outs.location);
            assert.deepEqual(outs.triggers, [2]);
            assert.ok(fs.existsSync(fileURLToPath(first.outs.location)), "earlier backup kept");
            assert.ok(fs.existsSync(fileURLToPath(outs.location)));
            assert.equal(fs.readdirSync(path.join(root, "backups")).length, 2);
            assert.equal(backupRequests(name), 2);
            assert.equal(logs.at(-1), `info: backed up secret "${name}": ${outs.sizeBytes} bytes, sha256 ${outs.sha256.slice(0, 12)}, to ${outs.location}; the earlier backup stays at ${first.outs.location}`);
            assert.equal(logs.length, 2, "one line per backup");
        });

        it("read keeps the state when the file is intact, and on a deleted or altered file clears sha256 so the next up backs up again", async () => {
            const name = await newSecret("read");
            const { id, outs } = await ops.create(inputs(name));
            assert.deepEqual(await ops.read(id, outs), { id, props: outs });
            fs.appendFileSync(fileURLToPath(outs.location), "tampered");
            const changed = await ops.read(id, outs);
            assert.equal(changed.props.sha256, "");
            assert.equal(changed.props.location, outs.location);
            assert.match(logs.at(-1)!, /^warn: backup of secret ".*" at .* is changed \(hash differs\); the next update takes a fresh backup$/);
            assert.equal((await ops.diff(id, changed.props, inputs(name))).changes, true);
            fs.rmSync(fileURLToPath(outs.location));
            const missing = await ops.read(id, outs);
            assert.equal(missing.props.sha256, "");
            assert.match(logs.at(-1)!, / is missing; the next update takes a fresh backup$/);
            // Refreshing a file backup needs no Azure credential, not even a usable configuration.
            ops.configure({ get: (k) => (k === "azure-native:clientSecret" ? "half-configured" : undefined) });
            assert.deepEqual(await ops.read(id, outs), missing);
            ops.configure(configFor(0));
            const { outs: fresh } = await ops.update(id, missing.props, inputs(name));
            assert.equal(await ops.read(id, fresh).then((r) => r.props.sha256), fresh.sha256);
        });

        it("delete keeps the backup file and says so", async () => {
            const name = await newSecret("delete");
            const { id, outs } = await ops.create(inputs(name));
            await ops.delete(id, outs);
            assert.ok(fs.existsSync(fileURLToPath(outs.location)));
            assert.equal(logs.at(-1), `info: SecretBackup of secret "${name}" removed from the stack; its backup stays at ${outs.location}`);
        });
    });

    describe("vault errors", () => {
        function expectVaultError(e: Error, name: string, status: number, code: string, todo: RegExp, innerCode?: string): boolean {
            assert.match(e.message, new RegExp(`^backup of secret "${name}" in vault ${emulator.vaults.demo.replace(/\./g, "\\.")} failed \\(HTTP ${status}, code ${code}, ${innerCode ? `inner code ${innerCode}, ` : ""}request id [0-9a-f-]{36}\\): .+`));
            const todoLines = e.message.split("\n").filter((l) => l.startsWith("What to do: "));
            assert.equal(todoLines.length, 1, e.message);
            assert.match(todoLines[0], todo);
            for (const v of secretValues) assert.ok(!e.message.includes(v));
            assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(e.message), "no token in the message");
            return true;
        }

        it("403 AccessDenied (no backup permission) keeps Key Vault's facts and says which permission to grant", async () => {
            const name = await newSecret("forbidden");
            ops.configure(configFor(1));
            await assert.rejects(ops.create(inputs(name)), (e: Error) =>
                expectVaultError(e, name, 403, "Forbidden", /grant the identity the secrets "backup" permission/, "AccessDenied"));
            assert.ok(!fs.existsSync(path.join(root, "backups")) || fs.readdirSync(path.join(root, "backups")).length === 0);
        });

        it("403 ForbiddenByRbac and ForbiddenByFirewall (vaults set up so) each say what to change", async () => {
            const other = await startTestEmulator({ seed: { vaults: { rbac: { accessModel: "rbac", secrets: { s1: "v" } }, walled: { firewall: "deny", secrets: { s1: "v" } } } } });
            try {
                const as = (i: number) => {
                    const values = azureNativeConfig(other, i);
                    ops.configure({ get: (k) => values[k] });
                };
                process.env.AZURE_AUTHORITY_HOST = other.authorityHost;
                as(1); // an RBAC vault where this identity's role lacks the backup data action
                await assert.rejects(ops.create({ vaultUrl: other.vaults.rbac, secretName: "s1", destination: root }), (e: Error) =>
                    /\(HTTP 403, code Forbidden, inner code ForbiddenByRbac, request id [0-9a-f-]{36}\): /.test(e.message) &&
                    /\nWhat to do: assign the identity a role with the data action Microsoft\.KeyVault\/vaults\/secrets\/backup\/action/.test(e.message));
                as(0);
                await assert.rejects(ops.create({ vaultUrl: other.vaults.walled, secretName: "s1", destination: root }), (e: Error) =>
                    /\(HTTP 403, code Forbidden, inner code ForbiddenByFirewall, request id [0-9a-f-]{36}\): Client address is not authorized/.test(e.message) &&
                    /\nWhat to do: allow this machine's address through the vault's firewall/.test(e.message));
                assert.ok(!fs.existsSync(root), "nothing written");
            } finally {
                process.env.AZURE_AUTHORITY_HOST = emulator.authorityHost;
                await other.close();
            }
        });

        it("404 SecretNotFound says to check the name and vault", async () => {
            const name = uniqueName("absent");
            await assert.rejects(ops.create(inputs(name)), (e: Error) =>
                expectVaultError(e, name, 404, "SecretNotFound", /check that the secret ".*" exists in/) && /was not found in this key vault/.test(e.message));
        });

        it("401 from the vault says to check the credential settings", async () => {
            const name = await newSecret("unauth");
            emulator.faults.add({ vault: "demo", operation: "backup", kind: "status", status: 401, count: 2 });
            try {
                await assert.rejects(ops.create(inputs(name)), (e: Error) =>
                    /HTTP 401/.test(e.message) && /What to do: the vault did not accept the credential. Check azure-native:clientId/.test(e.message));
            } finally {
                emulator.faults.clear();
            }
        });

        it("a wrong client secret fails with the identity error and what to do, without the secret", async () => {
            const name = await newSecret("badcred");
            const wrong = `wrong-${randomBytes(8).toString("hex")}`;
            ops.configure(configFor(0, { "azure-native:clientSecret": wrong }));
            await assert.rejects(ops.create(inputs(name)), (e: Error) =>
                !e.message.includes(wrong) && /\nWhat to do: Microsoft Entra ID refused the credential/.test(e.message) && e.message.startsWith(`backup of secret "${name}"`));
        });

        it("5xx: retried by the SDK, then reported with status and request id", async () => {
            const name = await newSecret("server");
            emulator.faults.add({ vault: "demo", operation: "backup", kind: "status", status: 503, count: 10 });
            try {
                await assert.rejects(ops.create(inputs(name)), (e: Error) => /HTTP 503/.test(e.message) && /request id [0-9a-f-]{36}/.test(e.message) && /What to do: Key Vault had an internal error/.test(e.message));
                assert.equal(backupRequests(name), 2, "one try and one SDK retry (maxRetries 1 in this test)");
            } finally {
                emulator.faults.clear();
            }
        });

        it("a vault that cannot be reached (ECONNREFUSED) says to check the network", async () => {
            const port = await freePort();
            const vaultUrl = `https://127.0.0.1:${port}`;
            await assert.rejects(ops.create(inputs("x", { vaultUrl })), (e: Error) =>
                e.message.startsWith(`backup of secret "x" in vault ${vaultUrl} failed (code ECONNREFUSED)`) && /What to do: could not reach/.test(e.message));
        });

        it("429 sustained: backs off 1, 2, 4, 8, 16 s, then fails saying the vault is throttling", async () => {
            const name = await newSecret("throttled");
            const waits: number[] = [];
            ops.configure(configFor(0), { sleep: async (ms) => void waits.push(ms) });
            emulator.faults.add({ vault: "demo", operation: "backup", kind: "status", status: 429, count: 6 });
            try {
                await assert.rejects(ops.create(inputs(name)), (e: Error) =>
                    expectVaultError(e, name, 429, "Throttled", /the vault is throttling/) &&
                    /The vault is throttling: all 6 attempts were answered 429, backing off 1, 2, 4, 8, 16 s between them\./.test(e.message));
            } finally {
                emulator.faults.clear();
            }
            assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000]);
            assert.equal(backupRequests(name), 6);
        });

        it("the production back-off is 1, 2, 4, 8, 16 s and really waits (fake clock)", async () => {
            const settings = defaultVaultClientSettings();
            assert.deepEqual(settings.throttleBackoffMs, [1000, 2000, 4000, 8000, 16000]);
            const clock = sinon.useFakeTimers();
            try {
                let woke = false;
                void settings.sleep(16_000).then(() => (woke = true));
                await clock.tickAsync(15_999);
                assert.equal(woke, false);
                await clock.tickAsync(1);
                assert.equal(woke, true);
            } finally {
                clock.restore();
            }
        });

        it("429 for a while: survived by backing off, and the backup succeeds", async () => {
            const name = await newSecret("survive");
            const waits: number[] = [];
            ops.configure(configFor(0), { sleep: async (ms) => void waits.push(ms) });
            emulator.faults.add({ vault: "demo", operation: "backup", kind: "status", status: 429, count: 3 });
            const { outs } = await ops.create(inputs(name));
            assert.deepEqual(waits, [1000, 2000, 4000]);
            assert.equal(backupRequests(name), 4);
            assert.ok(fs.existsSync(fileURLToPath(outs.location)));
        });

        it("per-vault pacing keeps a burst of backups under the vault's limit (without it the same burst is throttled)", async () => {
            // The vault allows 8 operations per 2 s; pacing at 20 per 10 s allows at most 2 + 4 in any 2 s.
            const burst = async (pacing: string): Promise<{ names: string[]; settled: PromiseSettledResult<unknown>[] }> => {
                const names = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(() => newSecret("paced")));
                emulator.faults.setThrottle({ operations: 8, windowMs: 2000 }); // a fresh window: the set calls above do not count
                ops.configure(configFor(0, { "secret-backup:vaultOperationsPer10Seconds": pacing }), { throttleBackoffMs: [] });
                return { names, settled: await Promise.allSettled(names.map((n) => ops.create(inputs(n)))) };
            };
            const ofNames = (names: string[]) => emulator.requests().filter((r) => names.some((n) => r.path === `/secrets/${n}/backup`));
            try {
                const unpaced = await burst("100000");
                assert.ok(ofNames(unpaced.names).some((r) => r.status === 429), "the vault's limit is real");
                const started = Date.now();
                const paced = await burst("20");
                assert.deepEqual(paced.settled.filter((s) => s.status === "rejected"), []);
                assert.deepEqual(ofNames(paced.names).filter((r) => r.status === 429), [], "no paced request was throttled");
                assert.ok(Date.now() - started >= 3000, "pacing spread 10 calls over at least 3 s");
            } finally {
                emulator.faults.setThrottle(false);
            }
        });

        it("a burst on a fresh host spends one bearer challenge in all, not one per backup", async () => {
            const names = await Promise.all(Array.from({ length: 12 }, () => newSecret("burst")));
            ops.configure(configFor(0)); // fresh clients: the SDK has not yet seen the vault's challenge
            const settled = await Promise.allSettled(names.map((n) => ops.create(inputs(n))));
            assert.deepEqual(settled.filter((s) => s.status === "rejected"), []);
            // Each backup first lists the secret's versions (to record the version it holds), then backs it up.
            const sent = emulator.requests().filter((r) => names.some((n) => r.path === `/secrets/${n}/backup` || r.path === `/secrets/${n}/versions`));
            assert.equal(sent.filter(isChallenge).length, 1, "one token-less request learned the challenge");
            assert.equal(sent.length, 2 * names.length + 1);
        });
    });
});
