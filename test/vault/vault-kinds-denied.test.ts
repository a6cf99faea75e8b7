import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup, type VaultBackupArgs } from "../../provider/vault-backup";
import { azureNativeConfig, pointAuthorityHostAt, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, type OperationResult } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// An identity that may list (and back up) secrets but not list keys: with `kinds` given, the 403 on
// listing keys fails the program; with `kinds` left out, keys are skipped with exactly one warning.
// Each case runs with the keys' 403 answering first and answering last (the other listings held
// back by the emulator), so neither depends on the order in which the listings answer.
const VAULT = "kinds-denied";
const TYPES = /^pulumi-nodejs:dynamic\/keyvault:(Secret|Key|Certificate)Backup$/;

describe("VaultBackup with an identity that may list secrets but not keys", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let restoreAuthorityHost = (): void => undefined;
    const secretsOnly = { clientId: randomUUID(), clientSecret: "kinds-denied-client-secret" };

    before(async () => {
        emulator = await startTestEmulator({
            seed: {
                principals: [
                    { clientId: randomUUID(), clientSecret: "kinds-denied-admin-secret", permissions: ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"] },
                    { ...secretsOnly, permissions: ["get", "list", "backup"], keyPermissions: ["get", "backup"], certificatePermissions: ["get", "list", "backup"] },
                ],
                vaults: { [VAULT]: { secrets: { "app-secret": "app-secret-value-p0o9" }, keys: { "app-key": { kty: "RSA" } } } },
            },
        });
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    afterEach(() => emulator.faults.clear());
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });

    function stack(args: Omit<VaultBackupArgs, "vaultUrl" | "destination">, destination: string): LocalEngine {
        return new LocalEngine({
            projectRoot: repoRoot, project: "kinds-denied", stack: uniqueName("st"),
            program: () => {
                const vault = new VaultBackup("nightly", { vaultUrl: emulator.vaults[VAULT], destination, ...args });
                return { objects: vault.objects };
            },
            config: azureNativeConfig(emulator, 1), secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    }
    /** Holds back every listing but the keys' (their 403 answers first), or only the keys' (it answers last). */
    function order(keysFirst: boolean): void {
        const ops = keysFirst ? ["list", "certificate.list"] : ["key.list"];
        for (const operation of ops) emulator.faults.add({ vault: VAULT, operation, kind: "delay", ms: 1500, count: 1 });
    }
    const keyListAnswers = (since: number) => emulator.requests().slice(since).filter((r) => r.operation === "key.list" && r.status !== 401).map((r) => r.status);
    const warnings = (r: OperationResult) => r.diagnostics.filter((d) => d.severity === "warning").map((d) => d.message);
    // Key Vault's access-policy 403 (keyvault-behaviour.md, "Errors"), for the keys' list permission.
    const denied = (vaultName: string) => new RegExp(`does not have keys list permission on key vault '${vaultName};location=[^']+'`);

    for (const keysFirst of [true, false]) {
        const when = keysFirst ? "answering before the other listings" : "answering after the other listings";
        it(`kinds left out, the keys' 403 ${when}: secrets are backed up, keys skipped with exactly one warning saying why and what to do`, async () => {
            const folder = uniqueFolder("kinds-denied-omitted");
            const since = emulator.requests().length;
            order(keysFirst);
            const up = await stack({}, folder).up();
            assert.equal(up.error, undefined, up.error);
            assert.deepEqual(keyListAnswers(since), [403]);
            const children = up.steps.filter((s) => TYPES.test(s.type)).map((s) => `${s.urn.split("::").pop()} ${s.op}`);
            assert.deepEqual(children, ["nightly/app-secret create"]);
            assert.equal(fs.readdirSync(folder).length, 1, "the secret's backup file");
            const said = warnings(up);
            assert.equal(said.length, 1, said.join("\n"));
            assert.match(said[0], new RegExp(`^${emulator.vaults[VAULT]}: keys are not backed up: the identity may not list them \\(.*403.*\\)\\. Grant it the keys "list" and "backup" permissions, or set kinds to say which kinds to back up\\.$`));
            assert.match(said[0], denied(VAULT));
        });

        it(`kinds given with "key", the keys' 403 ${when}: the program fails with Key Vault's 403 and no backup is taken`, async () => {
            const folder = uniqueFolder("kinds-denied-given");
            const since = emulator.requests().length;
            order(keysFirst);
            const up = await stack({ kinds: ["secret", "key"] }, folder).up();
            assert.deepEqual(keyListAnswers(since), [403]);
            assert.match(up.error ?? "(no error)", denied(VAULT));
            assert.match(up.error ?? "", /403/);
            assert.deepEqual(up.steps.filter((s) => TYPES.test(s.type)), [], "no backup resource");
            assert.equal(fs.existsSync(folder), false, "nothing written");
            assert.doesNotMatch(up.error ?? "", /kinds-denied-client-secret|app-secret-value-p0o9/);
        });
    }
});
