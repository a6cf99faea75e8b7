import { strict as assert } from "node:assert";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import sinon from "sinon";
import * as pulumi from "@pulumi/pulumi";
import * as ops from "../../provider/operations";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, pointAuthorityHostAt, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { exposeText, hashes, sha256File, tally, watchEmulator, watchFolder, watchSecret, watchTokens } from "./support";

// Faults whose real duration would not fit the suite (the full 1+2+4+8+16 s throttling back-off, the
// SDK's retries of a long 5xx burst, a vault slower than the 120 s default timeout), run against the
// emulator with the provider's operations in this process and the waits made short or recorded.
const VAULT = "inproc";

describe("reliability: long fault storms, with the waits shortened in-process", function () {
    this.timeout(30_000);
    let emulator: RunningEmulator;
    let restoreAuthorityHost = (): void => undefined;
    const folder = uniqueFolder("faults-inproc");
    let earlier: Record<string, string>;
    let waits: number[];
    let logs: string[];

    function config(): { get(k: string): string | undefined } {
        const values = azureNativeConfig(emulator);
        return { get: (k) => values[k] };
    }

    /** Configures the provider with recorded (not spent) waits and fast SDK retries, plus `extra`. */
    function configure(extra: Parameters<typeof ops.configure>[1] = {}): void {
        waits = [];
        ops.configure(config(), { sleep: async (ms) => void waits.push(ms), retryOptions: { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 20 }, ...extra });
    }

    async function newSecret(prefix: string): Promise<string> {
        const name = uniqueName(prefix);
        const value = `value-${randomBytes(12).toString("hex")}`;
        watchSecret(`value of ${name}`, value);
        await secretClientFor(emulator, VAULT).setSecret(name, value);
        return name;
    }

    const inputs = (secretName: string) => ({ vaultUrl: emulator.vaults[VAULT], secretName, destination: folder });
    const statuses = (secretName: string) => emulator.requests().filter((r) => r.path === `/secrets/${secretName}/backup` && r.status !== 401).map((r) => r.status);

    /** Runs create, expecting it to fail with `why`; then nothing new in the folder and every earlier file as it was. */
    async function assertCleanFailure(secretName: string, why: RegExp): Promise<void> {
        const error = await ops.create(inputs(secretName)).then(() => undefined, (e: Error) => e);
        assert.ok(error, "create failed");
        exposeText(`in-process error for ${secretName}`, error.message);
        assert.match(error.message, why);
        assert.deepEqual(hashes(folder), earlier, "no new or partial file; earlier backups untouched");
    }

    before(async () => {
        emulator = await startTestEmulator({ vaults: [VAULT] });
        watchEmulator(emulator);
        await watchTokens(emulator);
        watchFolder(folder);
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    beforeEach(async () => {
        logs = [];
        for (const level of ["info", "warn", "error", "debug"] as const) sinon.stub(pulumi.log, level).callsFake(async (m: string) => void logs.push(m));
        configure();
        if (!earlier) {
            await ops.create(inputs(await newSecret("earlier")));
            earlier = hashes(folder);
        }
    });
    afterEach(() => {
        sinon.restore();
        exposeText("in-process provider log", logs.join("\n"));
        emulator.faults.clear();
    });
    after(async () => {
        restoreAuthorityHost();
        ops.configure(undefined);
        await emulator?.close();
    });

    it("a 429 storm longer than the back-off budget fails clearly after waiting 1, 2, 4, 8 and 16 s", async () => {
        const name = await newSecret("storm-long");
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "status", status: 429, count: 6 });
        await assertCleanFailure(name, /HTTP 429, code Throttled.*\nThe vault is throttling: all 6 attempts were answered 429, backing off 1, 2, 4, 8, 16 s between them\.\nWhat to do: the vault is throttling/s);
        assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000]);
        assert.deepEqual(statuses(name), [429, 429, 429, 429, 429, 429]);
        tally.faults.push({ name: "429 storm beyond the back-off budget (in-process, waits recorded)", outcome: "clean failure" });
    });

    it("a 429 storm that stops at the last step still succeeds: the fifth wait (16 s) is followed by one more try", async () => {
        const name = await newSecret("storm-edge");
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "status", status: 429, count: 5 });
        const { outs } = await ops.create(inputs(name));
        assert.equal(sha256File(fileURLToPath(outs.location)), outs.sha256);
        assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000]);
        assert.deepEqual(statuses(name), [429, 429, 429, 429, 429, 200]);
        earlier = hashes(folder);
        tally.faults.push({ name: "429 storm ending at the last back-off step (in-process)", outcome: "backup verified" });
    });

    it("a 503 burst longer than the SDK's retries fails with Key Vault's status, code and request id", async () => {
        const name = await newSecret("burst-503");
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "status", status: 503, count: 10 });
        await assertCleanFailure(name, /failed \(HTTP 503, code ServiceUnavailable, request id [0-9a-f-]{36}\).*\nWhat to do: Key Vault had an internal error/s);
        assert.deepEqual(statuses(name), [503, 503, 503, 503], "the first try and 3 SDK retries");
        tally.faults.push({ name: "503 burst beyond the SDK's retries (in-process)", outcome: "clean failure" });
    });

    it("connections dropped on every answer fail after two more tries, with nothing written", async () => {
        const name = await newSecret("drops");
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "drop", count: 5 });
        await assertCleanFailure(name, /backup of secret "drops-\w+" .* failed \(code PARSE_ERROR\): .*aborted/s);
        assert.deepEqual(statuses(name), [0, 0, 0]);
        assert.deepEqual(waits, [500, 1000]);
        tally.faults.push({ name: "every answer dropped mid-response (in-process)", outcome: "clean failure" });
    });

    it("an answer slower than the client's timeout fails, saying the vault did not answer in time", async () => {
        const name = await newSecret("slow");
        configure({ requestTimeoutMs: 400 });
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "delay", ms: 2500, count: 1 });
        const started = Date.now();
        await assertCleanFailure(name, /failed \(code ETIMEDOUT\): Key Vault did not answer within 0\.4 s\nWhat to do: could not reach/);
        assert.ok(Date.now() - started < 2400, `gave up after the timeout, not after the answer (${Date.now() - started} ms)`);
        tally.faults.push({ name: "answer slower than the client's timeout (in-process, 0.4 s)", outcome: "clean failure" });
    });

    it("an answer slow but within the timeout completes", async () => {
        const name = await newSecret("slowish");
        configure({ requestTimeoutMs: 3000 });
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "delay", ms: 500, count: 1 });
        const { outs } = await ops.create(inputs(name));
        assert.equal(sha256File(fileURLToPath(outs.location)), outs.sha256);
        assert.equal(path.dirname(fileURLToPath(outs.location)), folder);
        earlier = hashes(folder);
        tally.faults.push({ name: "answer slow but within the timeout (in-process)", outcome: "backup verified" });
    });
});
