import * as assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import * as errors from "../../emulator/errors";
import { assertKeyVaultError, assertServiceError, certificateClientFor, keyClientFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";

/** Polls `attempt` until it resolves, for at most `ms`. */
async function pollUntil(attempt: () => Promise<unknown>, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
        try {
            await attempt();
            return;
        } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 50));
        }
    }
}

describe("emulator: the service's delete and purge lag (option lag)", () => {
    let emulator: RunningEmulator;
    before(async () => {
        emulator = await startTestEmulator({ vaults: ["lag-vault"], lag: { deleteMs: 1000, purgeMs: 1000 } });
    });
    after(async () => {
        await emulator?.close();
    });

    it("hides a deleted secret for a moment (the SDK's delete poller waits it out)", async () => {
        const client = secretClientFor(emulator, "lag-vault");
        const name = uniqueName("lag-delete");
        await client.setSecret(name, "v");
        const poller = await client.beginDeleteSecret(name, { intervalInMs: 50 });
        await assertKeyVaultError(client.getDeletedSecret(name), errors.deletedSecretNotFound(name));
        await assertKeyVaultError(client.setSecret(name, "w"), errors.deletedNameInUse(name));
        await poller.pollUntilDone();
        assert.ok(await client.getDeletedSecret(name));
    });

    it("blocks a purged name for a moment: restore answers 409, then succeeds", async () => {
        const client = secretClientFor(emulator, "lag-vault");
        const name = uniqueName("lag-purge");
        const set = await client.setSecret(name, "v");
        const blob = (await client.backupSecret(name))!;
        await (await client.beginDeleteSecret(name, { intervalInMs: 50 })).pollUntilDone();
        await client.purgeDeletedSecret(name);
        await assertKeyVaultError(client.restoreSecretBackup(blob), errors.restoreConflict(`${emulator.vaults["lag-vault"]}/secrets/${name}/${set.properties.version}`));
        await assertKeyVaultError(client.setSecret(name, "w"), errors.beingDeleted(name));
        await pollUntil(() => client.restoreSecretBackup(blob), 10_000);
        assert.equal((await client.getSecret(name)).value, "v");
    });

    it("keys and certificates too: get-deleted answers 404 (recorded text) for a moment, and a purged certificate's name answers 409 on restore", async () => {
        const keys = keyClientFor(emulator, "lag-vault");
        const keyName = uniqueName("lag-key");
        await keys.createKey(keyName, "EC");
        const keyPoller = await keys.beginDeleteKey(keyName, { intervalInMs: 50 });
        await assertServiceError(keys.getDeletedKey(keyName), 404, "KeyNotFound", `Deleted Key not found: ${keyName}`);
        await keyPoller.pollUntilDone();
        assert.ok(await keys.getDeletedKey(keyName));

        const certs = certificateClientFor(emulator, "lag-vault");
        const certName = uniqueName("lag-cert");
        await (await certs.beginCreateCertificate(certName, { issuerName: "Self", subject: "CN=lag" }, { intervalInMs: 20 })).pollUntilDone();
        const blob = (await certs.backupCertificate(certName))!;
        const certPoller = await certs.beginDeleteCertificate(certName, { intervalInMs: 50 });
        await assertServiceError(certs.getDeletedCertificate(certName), 404, "CertificateNotFound", `Deleted Certificate not found: ${certName}`);
        await certPoller.pollUntilDone();
        await certs.purgeDeletedCertificate(certName);
        await assertServiceError(certs.restoreCertificateBackup(blob), 409, "Conflict", /^There was a conflict restoring the certificate '/);
        await pollUntil(() => certs.restoreCertificateBackup(blob), 10_000);
        assert.equal((await certs.getCertificate(certName)).name, certName);
    });
});
