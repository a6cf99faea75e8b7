import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup } from "../../provider/vault-backup";
import { azureNativeConfig, pointAuthorityHostAt, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, type OperationResult } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// Key Vault's `updated` has one-second resolution: a version made in the same second as the version
// a backup holds, after that backup ran, carries the same time. The emulator's clock is stopped so
// both versions are made within one second, every time.
const VAULT = "ties";
const TARGET = "ties-restored";

describe("a new version made in the same second as the version a backup holds (issue 19, bug 5)", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        emulator = await startTestEmulator({
            vaults: [VAULT, TARGET],
            seed: { principals: [{ clientId: randomUUID(), clientSecret: "ties-client-secret", permissions: ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"] }] },
        });
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    after(async () => {
        emulator?.faults.setClock(null);
        restoreAuthorityHost();
        await emulator?.close();
    });

    function stack(secret: string, folder: string): LocalEngine {
        return new LocalEngine({
            projectRoot: repoRoot, project: "same-second", stack: uniqueName("st"),
            program: () => {
                const vault = new VaultBackup("nightly", { vaultUrl: emulator.vaults[VAULT], include: [secret], destination: folder });
                return { objects: vault.objects };
            },
            config: azureNativeConfig(emulator, 0), secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    }
    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }
    const child = (s: LocalEngine, secret: string) => s.state.resources.find((r) => r.urn.endsWith(`::nightly/${secret}`))!;
    /** What the backup at `location` gives back when restored into another vault: the secret's current value. */
    async function restoredValue(location: string, secret: string): Promise<string | undefined> {
        const target = secretClientFor(emulator, TARGET);
        await target.restoreSecretBackup(fs.readFileSync(fileURLToPath(location)));
        const value = (await target.getSecret(secret)).value;
        await target.beginDeleteSecret(secret).then((p) => p.pollUntilDone());
        await target.purgeDeletedSecret(secret);
        return value;
    }
    /** Makes v1, backs it up with `up`, then makes v2 in the same second (the vault's clock stopped). */
    async function twoVersionsInOneSecond(s: LocalEngine, secret: string): Promise<{ v1: string; v2: string }> {
        const client = secretClientFor(emulator, VAULT);
        emulator.faults.setClock(Date.now());
        try {
            const v1 = (await client.setSecret(secret, `${secret}-first-q1w2`)).properties;
            const up = ok(await s.up());
            assert.equal(up.steps.find((x) => x.urn.endsWith(`::nightly/${secret}`))?.op, "create");
            const v2 = (await client.setSecret(secret, `${secret}-second-e3r4`)).properties;
            assert.equal(v2.updatedOn?.getTime(), v1.updatedOn?.getTime(), "both versions carry the same time");
            return { v1: v1.version!, v2: v2.version! };
        } finally {
            emulator.faults.setClock(null);
        }
    }

    it("the next up backs it up: the listing's tie is decided by the object's version, and the new backup restores the new value", async () => {
        const secret = "tie-up";
        const s = stack(secret, uniqueFolder("same-second-up"));
        const { v2 } = await twoVersionsInOneSecond(s, secret);
        const first = String(child(s, secret).outputs.location);
        const up = ok(await s.up());
        assert.equal(up.steps.find((x) => x.urn.endsWith(`::nightly/${secret}`))?.op, "update", "the version made in the same second is backed up");
        assert.match(up.hostStdout, new RegExp(`SecretBackup of secret "${secret}": a new backup is due: the vault lists it as changed at \\S+, the same second as the version the backup holds, but its current version is ${v2}`));
        const second = String(child(s, secret).outputs.location);
        assert.notEqual(second, first);
        assert.equal(await restoredValue(second, secret), `${secret}-second-e3r4`);
        const again = ok(await s.up());
        assert.equal(again.steps.find((x) => x.urn.endsWith(`::nightly/${secret}`))?.op, "same", "once held, it is not due again");
    });

    it("refresh reports the version made in the same second as new instead of recording it as held; the next up backs it up", async () => {
        const secret = "tie-refresh";
        const s = stack(secret, uniqueFolder("same-second-refresh"));
        const { v1, v2 } = await twoVersionsInOneSecond(s, secret);
        const refresh = ok(await s.refresh());
        assert.notEqual(child(s, secret).outputs.version, v2, "refresh does not claim the new version is held");
        assert.equal(child(s, secret).outputs.newerVersion, v2);
        assert.match(refresh.hostStdout + refresh.hostStderr, new RegExp(`secret "${secret}" in \\S+ has a new version ${v2} since its backup \\(which holds ${v1}\\)`));
        const up = ok(await s.up());
        assert.equal(up.steps.find((x) => x.urn.endsWith(`::nightly/${secret}`))?.op, "update");
        assert.equal(await restoredValue(String(child(s, secret).outputs.location), secret), `${secret}-second-e3r4`);
    });
});
