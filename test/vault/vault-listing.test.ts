import { strict as assert } from "node:assert";
import type { RunningEmulator } from "../../emulator";
import { listVaultSecrets } from "../../provider/vault-listing";
import { VaultError } from "../../provider/errors";
import { credentialFor, startTestEmulator } from "../helpers/emulator";

describe("listing a vault for VaultBackup (real SecretClient, emulator)", () => {
    let emulator: RunningEmulator;
    let vaultUrl: string;
    const names = Array.from({ length: 60 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);

    before(async () => {
        const secrets: Record<string, unknown> = Object.fromEntries(names.map((n) => [n, `value-of-${n}`]));
        secrets["off-one"] = { value: "off", enabled: false };
        emulator = await startTestEmulator({ seed: { vaults: { "listing-vault": { secrets: secrets as Record<string, string> } } } });
        vaultUrl = emulator.vaults["listing-vault"];
    });
    after(async () => emulator?.close());

    const listCalls = (status: number): number => emulator.requests().filter((r) => r.operation === "list" && r.status === status).length;

    it("follows every page and returns names sorted, with the disabled secret marked, never a value", async () => {
        const listed = await listVaultSecrets(vaultUrl, "7.4", credentialFor(emulator));
        assert.deepEqual(listed.map((s) => s.name), ["off-one", ...names]);
        assert.equal(listed.find((s) => s.name === "off-one")!.enabled, false);
        assert.ok(listed.filter((s) => s.name !== "off-one").every((s) => s.enabled));
        assert.doesNotMatch(JSON.stringify(listed), /value-of/);
        assert.ok(listCalls(200) >= 3, "60 secrets take several pages");
    });

    it("a 429 on a page restarts the listing after the back-off and succeeds", async () => {
        emulator.faults.add({ vault: "listing-vault", operation: "list", kind: "status", status: 429, count: 1 });
        const throttled = listCalls(429);
        const listed = await listVaultSecrets(vaultUrl, "7.4", credentialFor(emulator), [20, 40]);
        assert.equal(listed.length, 61);
        assert.equal(listCalls(429), throttled + 1);
    });

    it("429s through the whole back-off fail with the throttling message and Key Vault's facts", async () => {
        emulator.faults.add({ vault: "listing-vault", operation: "list", kind: "status", status: 429, count: 3 });
        await assert.rejects(listVaultSecrets(vaultUrl, "7.4", credentialFor(emulator), [20, 40]), (e: unknown) => {
            assert.ok(e instanceof VaultError, String(e));
            assert.match(e.message, /^list of secret "\*" in vault https:\/\/127\.0\.0\.1:\d+ failed \(HTTP 429, code Throttled, request id [0-9a-f-]{36}\)/);
            assert.match(e.message, /The vault is throttling: all 3 attempts were answered 429/);
            return true;
        });
        emulator.faults.clear();
    });
});
