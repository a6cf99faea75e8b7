import * as assert from "node:assert/strict";
import * as jose from "jose";
import type { RunningEmulator } from "../../emulator";
import * as errors from "../../emulator/errors";
import { assertKeyVaultError, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { exampleBackupValue } from "../restore/example-backup";

describe("emulator: backup blobs and the same-geography rule", () => {
    let a: RunningEmulator;
    let sameKey: RunningEmulator;
    let otherKey: RunningEmulator;
    before(async () => {
        [a, sameKey, otherKey] = await Promise.all([
            startTestEmulator({ vaults: ["geo-a", "geo-a2"], backupKey: "shared-geography-key" }),
            startTestEmulator({ vaults: ["geo-b"], backupKey: "shared-geography-key" }),
            startTestEmulator({ vaults: ["geo-c"], backupKey: "another-geography" }),
        ]);
    });
    after(async () => {
        await Promise.all([a?.close(), sameKey?.close(), otherKey?.close()]);
    });

    it("frames the blob like the service: length byte, tag, compact JWE with kid; no plaintext; fresh bytes each time", async () => {
        const client = secretClientFor(a, "geo-a");
        const name = uniqueName("framing");
        await client.setSecret(name, "plain-text-marker-123");
        const one = Buffer.from((await client.backupSecret(name))!);
        const two = Buffer.from((await client.backupSecret(name))!);
        assert.equal(one[0], 0x29);
        assert.equal(one.subarray(1, 42).toString("ascii"), "AzureKeyVaultSecretBackupV1.microsoft.com");
        const jwe = one.subarray(42).toString("ascii");
        assert.equal(jwe.split(".").length, 5);
        const header = jose.decodeProtectedHeader(jwe);
        assert.equal(header.enc, "A256CBC-HS512");
        assert.match(String(header.kid), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.ok(!one.includes("plain-text-marker-123") && !Buffer.from(jwe.split(".")[3], "base64url").includes("plain-text-marker-123"));
        assert.notDeepEqual(one, two, "each backup encrypts afresh");
    });

    it("restores into another vault of the same emulator and into an emulator sharing the backup key", async () => {
        const name = uniqueName("geo");
        const src = secretClientFor(a, "geo-a");
        const v1 = await src.setSecret(name, "first");
        const v2 = await src.setSecret(name, "second");
        const blob = (await src.backupSecret(name))!;
        for (const [emu, vault] of [[a, "geo-a2"], [sameKey, "geo-b"]] as const) {
            const dst = secretClientFor(emu, vault);
            const restored = await dst.restoreSecretBackup(blob);
            assert.equal(restored.id, `${emu.vaults[vault]}/secrets/${name}/${v2.properties.version}`);
            assert.equal((await dst.getSecret(name, { version: v1.properties.version })).value, "first");
            assert.equal((await dst.getSecret(name)).value, "second");
        }
    });

    it("refuses a blob made under another backup key with 400 Malformed backup blob, and creates nothing", async () => {
        const name = uniqueName("cross-key");
        const src = secretClientFor(a, "geo-a");
        await src.setSecret(name, "v");
        const blob = (await src.backupSecret(name))!;
        const dst = secretClientFor(otherKey, "geo-c");
        await assertKeyVaultError(dst.restoreSecretBackup(blob), errors.invalidBackupVersion());
        await assertKeyVaultError(dst.getSecret(name), errors.secretNotFound(name));
    });

    it("refuses the service's own example blob (7.4 spec) as a blob from another geography: well framed, unknown key", async () => {
        const blob = Buffer.from(exampleBackupValue, "base64url");
        assert.equal(blob.subarray(1, 42).toString("ascii"), "AzureKeyVaultSecretBackupV1.microsoft.com", "the example's framing is what the emulator writes");
        await assertKeyVaultError(secretClientFor(a, "geo-a").restoreSecretBackup(blob), errors.invalidBackupVersion());
    });
});
