import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { FileDestination } from "../../provider/destinations/file";
import { sha256Hex } from "../../provider/destinations/destination";
import { restoreBackup, RestoreError } from "../../provider/restore";
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
});
