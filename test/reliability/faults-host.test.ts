import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { FaultSpec, RunningEmulator } from "../../emulator";
import { ContainerClient } from "@azure/storage-blob";
import { BlobDestination } from "../../provider/destinations/blob";
import { credentialFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { startAzurite, type RunningAzurite } from "../helpers/azurite";
import { assertGone } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { backupProblem, backupStack, filesIn, hashes, locationFile, providerHostPids, tally, waitFor, watchEmulator, watchFolder, watchSecret, watchTokens, type WatchedStack } from "./support";
import type { SecretBackupArgs } from "../../provider/resource";
import { freePort as closedPort } from "../helpers/ports";

// Faults injected through the emulator, Azurite and the file system while `pulumi up` runs through
// the real provider host. After each: either a complete backup whose hash verifies, or a clean
// failure (no partial or temporary file, nothing in state), and every earlier backup untouched.
const VAULT = "faults";

describe("reliability: faults during a backup through the real provider host", function () {
    this.timeout(90_000);
    let emulator: RunningEmulator;
    let client: SecretClient;
    /** Holds earlier backups that every fault must leave as they were. */
    const folder = uniqueFolder("faults");
    let earlier: Record<string, string>;

    before(async () => {
        emulator = await startTestEmulator({ vaults: [VAULT] });
        watchEmulator(emulator);
        await watchTokens(emulator);
        watchFolder(folder);
        client = secretClientFor(emulator, VAULT);
        const stack = backupStack(emulator, [{ name: "earlier", args: { vaultUrl: emulator.vaults[VAULT], secretName: await newSecret("earlier"), destination: folder } }]);
        const up = await stack.up();
        assert.equal(up.error, undefined, up.error);
        earlier = hashes(folder);
        assert.equal(Object.keys(earlier).length, 1);
    });
    afterEach(() => emulator.faults.clear());
    after(async () => emulator?.close());

    /** A new secret with a watched random value; returns its name. */
    async function newSecret(prefix: string): Promise<string> {
        const name = uniqueName(prefix);
        const value = `value-${createHash("sha256").update(name).digest("hex").slice(0, 24)}`;
        watchSecret(`value of ${name}`, value);
        await client.setSecret(name, value);
        return name;
    }

    /** The statuses the vault answered to Backup Secret of `secretName` with a token (0 = no answer sent: the connection was dropped, or the call is still in flight). */
    function backupStatuses(secretName: string): number[] {
        return emulator.requests().filter((r) => r.path === `/secrets/${secretName}/backup` && r.status !== 401).map((r) => r.status);
    }

    /** Asserts a complete backup: in state, its file verifies, it is the one new file, the earlier files unchanged. */
    function assertBackedUp(stack: WatchedStack, error: string | undefined, where = folder): void {
        assert.equal(error, undefined, error);
        const [state] = stack.backups();
        assert.ok(state, "the backup is in state");
        assert.equal(backupProblem(state), undefined);
        assert.equal(path.dirname(locationFile(state)), where);
        assertEarlierUntouched(where === folder ? [path.basename(locationFile(state))] : []);
    }

    /** Asserts a clean failure: the error says `why`, nothing in state, no new (partial or temporary) file. */
    function assertCleanFailure(stack: WatchedStack, error: string | undefined, why: RegExp): void {
        assert.match(error ?? "(no error)", why);
        assert.deepEqual(stack.backups(), [], "no state claims a backup");
        assertEarlierUntouched([]);
    }

    function assertEarlierUntouched(added: string[]): void {
        const now = hashes(folder);
        for (const [name, hash] of Object.entries(earlier)) assert.equal(now[name], hash, `earlier backup ${name} untouched`);
        assert.deepEqual(Object.keys(now).sort(), [...Object.keys(earlier), ...added].sort(), "no other file appeared");
        earlier = now;
    }

    function stackFor(secretName: string, args: Partial<SecretBackupArgs> = {}, options: Parameters<typeof backupStack>[2] = {}): WatchedStack {
        return backupStack(emulator, [{ name: secretName, args: { vaultUrl: emulator.vaults[VAULT], secretName, destination: folder, ...args } }], options);
    }

    /** The host's environment with the file-system fault preload (sinon in the host) and its switches. */
    function withFsFaults(switches: Record<string, string>): Record<string, string> {
        const preload = path.join(__dirname, "fs-fault-preload.js");
        return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${preload}`.trim(), ...switches };
    }

    /** A state file in a new watched folder, for stacks whose state must outlive a killed host. */
    function newStatePath(): string {
        const stateFolder = uniqueFolder("faults-state");
        watchFolder(stateFolder);
        return path.join(stateFolder, "state.json");
    }

    function survived(name: string, outcome: "backup verified" | "clean failure"): void {
        tally.faults.push({ name, outcome });
    }

    // Faults the provider rides out: each ends in a complete backup, and the vault saw exactly `statuses`.
    const survivable: { title: string; prefix: string; faults: FaultSpec[]; statuses: number[]; label: string }[] = [
        {
            title: "a 429 storm without Retry-After that ends within the back-off budget (2 answers: 1 s + 2 s) is survived",
            prefix: "storm-short",
            faults: [{ vault: VAULT, operation: "backup", kind: "status", status: 429, count: 2 }],
            statuses: [429, 429, 200],
            label: "429 storm within the back-off budget (host, real 1+2 s waits)",
        },
        {
            title: "a 500 and a 503 in a row are retried by the SDK and the backup completes",
            prefix: "burst-5xx",
            faults: [
                { vault: VAULT, operation: "backup", kind: "status", status: 500, count: 1 },
                { vault: VAULT, operation: "backup", kind: "status", status: 503, count: 1 },
            ],
            statuses: [500, 503, 200],
            label: "500 + 503 burst (host)",
        },
        {
            title: "a connection dropped mid-response is retried and the backup completes",
            prefix: "drop-once",
            faults: [{ vault: VAULT, operation: "backup", kind: "drop", count: 1 }],
            statuses: [0, 200],
            label: "connection dropped mid-response (host)",
        },
    ];
    for (const c of survivable) {
        it(c.title, async () => {
            const name = await newSecret(c.prefix);
            for (const fault of c.faults) emulator.faults.add(fault);
            const stack = stackFor(name);
            const up = await stack.up();
            assertBackedUp(stack, up.error);
            assert.deepEqual(backupStatuses(name), c.statuses);
            survived(c.label, "backup verified");
        });
    }

    it("while 429s are retried, the host logs one line per pause naming the vault, the wait and the attempt, not one per throttled call", async () => {
        const elsewhere = uniqueFolder("faults-throttled");
        watchFolder(elsewhere);
        const vaultUrl = emulator.vaults[VAULT];
        const pauseLines = (out: string): string[] => out.split("\n").filter((l) => /429/.test(l) && /waiting/.test(l)).map((l) => l.slice(l.indexOf(vaultUrl)));
        // One backup throttled twice: two pauses, two lines.
        const solo = await newSecret("paused");
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "status", status: 429, count: 2 });
        const first = await stackFor(solo, { destination: elsewhere }).up();
        assert.equal(first.error, undefined, first.error);
        assert.deepEqual(pauseLines(first.hostStdout), [
            `${vaultUrl}: Key Vault is throttling requests (429); waiting 1 s before attempt 2 of 6`,
            `${vaultUrl}: Key Vault is throttling requests (429); waiting 2 s before attempt 3 of 6`,
        ]);
        // Five backups, each throttled once, most of them together: fewer lines than throttled calls.
        const names = await Promise.all(["burst-a", "burst-b", "burst-c", "burst-d", "burst-e"].map(newSecret));
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "status", status: 429, count: 5 });
        const burst = await backupStack(emulator, names.map((n) => ({ name: n, args: { vaultUrl, secretName: n, destination: elsewhere } }))).up();
        assert.equal(burst.error, undefined, burst.error);
        assert.equal(names.flatMap(backupStatuses).filter((x) => x === 429).length, 5, "five calls were throttled");
        const lines = pauseLines(burst.hostStdout);
        assert.ok(lines.length >= 1 && lines.length < 5, `one line per pause, not per call:\n${lines.join("\n")}`);
        for (const line of lines) assert.equal(line, `${vaultUrl}: Key Vault is throttling requests (429); waiting 1 s before attempt 2 of 6`);
        survived("429 on several backups at once: one log line per pause (host)", "backup verified");
    });

    it("a vault that is not listening fails cleanly, saying it could not be reached", async () => {
        const name = uniqueName("nobody");
        const stack = stackFor(name, { vaultUrl: `https://127.0.0.1:${await closedPort()}` });
        const up = await stack.up();
        assertCleanFailure(stack, up.error, /backup of secret "nobody-\w+" in vault https:\/\/127\.0\.0\.1:\d+ failed \(code ECONNREFUSED\).*\nWhat to do: could not reach/s);
        survived("vault not listening (host)", "clean failure");
    });

    it("the destination folder turning into a file while the vault answers fails cleanly: no file, nothing in state (as root too)", async () => {
        const name = await newSecret("unusable");
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "delay", ms: 2000, count: 1 });
        const stack = stackFor(name);
        const running = stack.up();
        await waitFor("the backup call to reach the vault", () => emulator.requests().some((r) => r.path === `/secrets/${name}/backup` && r.status === 0));
        // Modes do not bind root, so the folder becomes unusable the way it can for anyone: a file takes its place.
        const aside = `${folder}.aside`;
        fs.renameSync(folder, aside);
        fs.writeFileSync(folder, "not a folder");
        let up;
        try {
            up = await running;
        } finally {
            fs.rmSync(folder);
            fs.renameSync(aside, folder);
        }
        assert.deepEqual(backupStatuses(name), [200], "the vault answered; the write failed");
        assertCleanFailure(stack, up.error, /writing the backup of secret "unusable-\w+" .* failed: (EEXIST|ENOTDIR).*\nWhat to do: make sure the destination exists, is writable/s);
        survived("destination folder replaced by a file during the write (host)", "clean failure");
    });

    it("a full disk (ENOSPC half-way through the write) fails cleanly: the partial temporary file is removed", async () => {
        const name = await newSecret("full");
        const env = withFsFaults({ RELIABILITY_ENOSPC_DIR: folder });
        const stack = stackFor(name, {}, { env });
        const up = await stack.up();
        assert.deepEqual(backupStatuses(name), [200]);
        assertCleanFailure(stack, up.error, /writing the backup of secret "full-\w+" .* failed: ENOSPC: no space left on device/s);
        survived("destination full, ENOSPC mid-write (host, sinon in the host)", "clean failure");
    });

    it("the provider host killed (SIGKILL) in the middle of a create leaves no file and no state; a fresh host completes it", async () => {
        const name = await newSecret("killed");
        const statePath = newStatePath();
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "delay", ms: 3000, count: 1 });
        const stack = stackFor(name, {}, { statePath });
        const running = stack.up();
        await waitFor("the backup call to reach the vault", () => emulator.requests().some((r) => r.path === `/secrets/${name}/backup` && r.status === 0));
        const pids = providerHostPids();
        assert.equal(pids.length, 1, `one provider host running (${pids.join(", ")})`);
        process.kill(-pids[0], "SIGKILL");
        const up = await running;
        assertGone(pids[0]);
        assert.match(up.error ?? "", /create failed \(gRPC 1[34]\)|UNAVAILABLE|CANCELLED|No connection established|Connection dropped/i);
        assert.deepEqual(stack.backups(), [], "the state file claims no backup");
        assert.ok(fs.existsSync(statePath), "the state file was written");
        assertEarlierUntouched([]);
        // The delayed answer may still be on its way; wait for it so it cannot be mistaken for the next call.
        await waitFor("the delayed answer to finish", () => backupStatuses(name).every((s) => s !== 0), 10_000);

        const again = await stack.up();
        assertBackedUp(stack, again.error);
        survived("provider host SIGKILLed mid-create, then a fresh host (host)", "backup verified");
    });

    it("the provider host killed while writing leaves only a hidden partial temporary file, never a backup; once stale, the next write removes it", async () => {
        const name = await newSecret("killed-writing");
        const statePath = newStatePath();
        const env = withFsFaults({ RELIABILITY_SLOW_WRITE_DIR: folder });
        const stack = stackFor(name, {}, { statePath, env });
        const running = stack.up();
        await waitFor("the temporary file to be half written", () => filesIn(folder).some((f) => f.endsWith(".tmp")));
        const pids = providerHostPids();
        assert.equal(pids.length, 1, `one provider host running (${pids.join(", ")})`);
        process.kill(-pids[0], "SIGKILL");
        const up = await running;
        assertGone(pids[0]);
        assert.match(up.error ?? "", /create failed \(gRPC 1[34]\)/);
        assert.deepEqual(stack.backups(), [], "the state file claims no backup");
        const left = filesIn(folder).filter((f) => !(f in earlier));
        assert.equal(left.length, 1, `only the temporary file is left: ${left.join(", ")}`);
        assert.match(left[0], /^\..+\.kvbackup\.[0-9a-f]{12}\.tmp$/, "hidden, and not named like a backup");
        for (const [file, hash] of Object.entries(earlier)) assert.equal(hashes(folder)[file], hash, `earlier backup ${file} untouched`);

        // Eleven minutes later (file times set back), a fresh host's write removes the stale file and completes.
        const old = new Date(Date.now() - 11 * 60_000);
        fs.utimesSync(path.join(folder, left[0]), old, old);
        const fresh = stackFor(name, {}, { statePath });
        const again = await fresh.up();
        assertBackedUp(fresh, again.error);
        survived("provider host SIGKILLed mid-write, stale temporary file removed by the next write (host)", "backup verified");
    });

    describe("Blob Storage destination (Azurite)", () => {
        let azurite: RunningAzurite;
        let container: string;
        let firstBlob: { location: string; sha256: string };

        before(async function () {
            this.timeout(60_000);
            azurite = await startAzurite();
            container = `${azurite.accountUrl}/${uniqueName("faults")}`;
            await new ContainerClient(container, credentialFor(emulator)).create();
        });
        after(async () => azurite?.stop());

        const blobs = () => new BlobDestination(container, credentialFor(emulator));
        const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

        it("a backup to Blob Storage completes and its blob hashes to the state's sha256", async () => {
            const name = await newSecret("blob-ok");
            const stack = stackFor(name, { destination: container });
            const up = await stack.up();
            assert.equal(up.error, undefined, up.error);
            const outs = stack.backups()[0].outputs;
            firstBlob = { location: String(outs.location), sha256: String(outs.sha256) };
            assert.equal(sha(await blobs().read(firstBlob.location)), firstBlob.sha256);
            assertEarlierUntouched([]);
        });

        it("Blob Storage down (nothing listening) fails cleanly, and the earlier blob is untouched", async () => {
            const name = await newSecret("blob-down");
            const down = container.replace(`:${azurite.port}/`, `:${await closedPort()}/`);
            const stack = stackFor(name, { destination: down });
            const up = await stack.up();
            assertCleanFailure(stack, up.error, /writing the backup of secret "blob-down-\w+" .* failed: .*ECONNREFUSED/s);
            assert.equal(sha(await blobs().read(firstBlob.location)), firstBlob.sha256, "the earlier blob is untouched");
            survived("Blob Storage down (host)", "clean failure");
        });

        it("Blob Storage answering 403 (an Azurite whose clock runs a day ahead refuses every token) fails cleanly", async function () {
            this.timeout(90_000);
            const skewed = await startAzurite({ clockSkewMs: 24 * 3600_000 });
            try {
                const name = await newSecret("blob-403");
                const stack = stackFor(name, { destination: `${skewed.accountUrl}/${uniqueName("refused")}` });
                const up = await stack.up();
                assertCleanFailure(stack, up.error, /writing the backup of secret "blob-403-\w+" .* failed: .*403 AuthenticationFailed.*request id/s);
                assert.equal(sha(await blobs().read(firstBlob.location)), firstBlob.sha256, "the earlier blob is untouched");
                survived("Blob Storage answering 403 (host, Azurite's clock a day ahead)", "clean failure");
            } finally {
                await skewed.stop();
            }
        });
    });
});
