import * as assert from "node:assert/strict";
import { parseKeyVaultSecretIdentifier } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";

describe("emulator: round trip through the real SecretClient", () => {
    let emulator: RunningEmulator;
    before(async () => {
        emulator = await startTestEmulator({ vaults: ["rt-vault"] });
    });
    after(async () => {
        await emulator?.close();
    });

    it("sets, gets, backs up, deletes, purges, restores and gets the same versions and values", async () => {
        const client = secretClientFor(emulator, "rt-vault");
        const name = uniqueName("round-trip");
        const first = await client.setSecret(name, "value-one", { contentType: "text/plain", tags: { team: "a" } });
        const second = await client.setSecret(name, "value-two");
        assert.equal((await client.getSecret(name)).value, "value-two");
        const parsed = parseKeyVaultSecretIdentifier(second.properties.id!);
        assert.equal(parsed.vaultUrl, emulator.vaults["rt-vault"]);
        assert.equal(parsed.name, name);

        const blob = await client.backupSecret(name);
        assert.ok(blob && blob[0] === 0x29 && blob.subarray(1, 42).toString() === "AzureKeyVaultSecretBackupV1.microsoft.com");

        const poller = await client.beginDeleteSecret(name, { intervalInMs: 10 });
        await poller.pollUntilDone();
        await client.purgeDeletedSecret(name);
        await assert.rejects(client.getSecret(name), { statusCode: 404, code: "SecretNotFound" });

        const restored = await client.restoreSecretBackup(blob!);
        assert.equal(restored.version, second.properties.version);
        assert.equal(restored.createdOn?.getTime(), second.properties.createdOn?.getTime());

        const versions: string[] = [];
        for await (const p of client.listPropertiesOfSecretVersions(name)) versions.push(p.version!);
        assert.deepEqual(versions.sort(), [first.properties.version!, second.properties.version!].sort());
        const old = await client.getSecret(name, { version: first.properties.version });
        assert.equal(old.value, "value-one");
        assert.equal(old.properties.contentType, "text/plain");
        assert.deepEqual(old.properties.tags, { team: "a" });
        assert.equal((await client.getSecret(name)).value, "value-two");
    });
});
