import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { FileDestination } from "../../provider/destinations/file";
import { sha256Hex } from "../../provider/destinations/destination";
import { restoreBackup, RestoreError } from "../../provider/restore";
import { restoreVault } from "../../provider/recovery/restore-vault";
import { credentialFor, secretClientFor, startTestEmulator } from "../helpers/emulator";
import { scratchRoot } from "../helpers/paths";
import { snapshotSecret } from "./vault-snapshot";

// Key Vault refuses a restore for a few seconds after a purge (409). The message says so, and
// doing what it says (retrying a little later) works.
describe("restore right after a purge (emulator with the service's purge lag)", () => {
    let emulator: RunningEmulator;
    let dir: string;

    before(async () => {
        emulator = await startTestEmulator({
            seed: { vaults: { "purge-lag": { secrets: { "just-purged": { versions: [{ value: "jp-1-x9" }, { value: "jp-2-y8" }] } } } } },
            lag: { purgeMs: 1500 },
        });
        dir = path.join(scratchRoot, `after-purge-${randomUUID()}`);
    });
    after(async () => {
        await emulator?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("gets 409 with 'wait a few seconds' advice, and succeeds when retried as advised", async () => {
        const client = secretClientFor(emulator, "purge-lag");
        const vaultUrl = emulator.vaults["purge-lag"];
        const before = await snapshotSecret(client, "just-purged");
        const blob = (await client.backupSecret("just-purged"))!;
        const record = { vaultUrl, secretName: "just-purged", backedUpAt: new Date().toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length };
        const location = await new FileDestination(dir).write(blob, record);
        await (await client.beginDeleteSecret("just-purged", { intervalInMs: 10 })).pollUntilDone();
        await client.purgeDeletedSecret("just-purged");

        const restore = () => restoreBackup({ from: location, vaultUrl, credential: credentialFor(emulator) });
        await assert.rejects(restore(), (e: unknown) => {
            assert.ok(e instanceof RestoreError, String(e));
            assert.equal(e.statusCode, 409);
            assert.match(e.message, /or was purged seconds ago.*right after a purge, wait a few seconds first/s);
            return true;
        });

        const deadline = Date.now() + 15_000;
        for (;;) {
            try {
                await restore();
                break;
            } catch (e) {
                if (!(e instanceof RestoreError && e.statusCode === 409) || Date.now() > deadline) throw e;
                await new Promise((r) => setTimeout(r, 200));
            }
        }
        assert.deepEqual(await snapshotSecret(client, "just-purged"), before);
    });

    it("restoreVault retries the 409 after a purge on the back-off it is given (shortened here), and reports it when the back-off is spent", async () => {
        const client = secretClientFor(emulator, "purge-lag");
        const vaultUrl = emulator.vaults["purge-lag"];
        const folder = path.join(dir, "whole");
        const names = ["purged-no-backoff", "purged-short-backoff"];
        for (const name of names) {
            await client.setSecret(name, `${name}-v1-q7`);
            const blob = (await client.backupSecret(name))!;
            await new FileDestination(folder).write(blob, { vaultUrl, secretName: name, backedUpAt: new Date().toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length });
        }
        const before = await snapshotSecret(client, names[1]);
        const purge = async (name: string): Promise<void> => {
            await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
            await client.purgeDeletedSecret(name);
        };
        const answers = (from: number) => emulator.requests().slice(from).filter((r) => r.vault === "purge-lag" && r.operation === "restore").map((r) => r.status);

        await purge(names[0]);
        let from = emulator.requests().length;
        const none = await restoreVault({ from: folder, vaultUrl, names: [names[0]], credential: credentialFor(emulator), purgeConflictBackoffMs: [] });
        assert.equal(none.objects[0].outcome, "failed");
        assert.equal(none.objects[0].status, 409);
        assert.match(none.objects[0].whatToDo!, /or was purged seconds ago.*right after a purge, wait a few seconds first/s);
        assert.deepEqual(answers(from), [409], "no back-off: one attempt");

        // The lag (1.5 s) outlasts the default's first wait (1 s) only once; 100 ms waits meet it many times.
        await purge(names[1]);
        from = emulator.requests().length;
        const started = Date.now();
        const result = await restoreVault({ from: folder, vaultUrl, names: [names[1]], credential: credentialFor(emulator), purgeConflictBackoffMs: Array(40).fill(100) });
        const elapsed = Date.now() - started;
        assert.equal(result.objects[0].outcome, "restored", JSON.stringify(result.objects[0]));
        const statuses = answers(from);
        assert.equal(statuses.at(-1), 200);
        assert.ok(statuses.filter((s) => s === 409).length >= 5, `retried every 100 ms while the purge finished: ${statuses}`);
        assert.ok(elapsed < 3000, `done in ${elapsed} ms, not on the default's 1, 2 s waits`);
        assert.deepEqual(await snapshotSecret(client, names[1]), before);
    });
});
