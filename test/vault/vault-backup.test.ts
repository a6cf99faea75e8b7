import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup, childName, type VaultBackupArgs } from "../../provider/vault-backup";
import { restoreBackup } from "../../provider/restore";
import { azureNativeConfig, credentialFor, pointAuthorityHostAt, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, dynamicOps } from "../helpers/host";
import { programError as programErrorOf, uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";
import { deleteAndPurge, snapshotSecret } from "../restore/vault-snapshot";

// VaultBackup driven as `pulumi preview/up` would: the program (which lists the vault) runs in this
// process as an inline program (the Automation API's way) against the harness's ResourceMonitor,
// every SecretBackup goes through the real dynamic-provider host.
const SMALL = "whole-small";
const TYPE = "pulumi-nodejs:dynamic/keyvault:SecretBackup";
const ALL = ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"];

describe("VaultBackup through the real provider host", function () {
    this.timeout(180_000);
    let emulator: RunningEmulator;
    let client: SecretClient;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        emulator = await startTestEmulator({
            seed: {
                principals: [
                    { clientId: randomUUID(), clientSecret: "all-permissions-secret-1", permissions: ALL },
                    { clientId: randomUUID(), clientSecret: "no-list-secret-2", permissions: ["get", "backup"] },
                    { clientId: randomUUID(), clientSecret: "list-only-secret-3", permissions: ["list"] },
                ],
                vaults: {
                    [SMALL]: {
                        secrets: {
                            "db-password": { versions: [{ value: "db-v1-q8w7" }, { value: "db-v2-e6r5" }] },
                            "api-key": "api-key-t4y3",
                            "tmp-one": "tmp-one-u2i1",
                            "tmp-two": "tmp-two-o0p9",
                            "disabled-one": { value: "disabled-a8s7", enabled: false },
                        },
                    },
                },
            },
        });
        client = secretClientFor(emulator, SMALL);
        // The program lists the vault in this process: it reads the authority as the host does.
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });

    function stack(args: VaultBackupArgs, principal = 0, config: Record<string, string> = {}): LocalEngine {
        return new LocalEngine({
            projectRoot: repoRoot,
            project: "vault-backup-test",
            stack: uniqueName("st"),
            program: () => {
                const vault = new VaultBackup("vault", args);
                return { names: vault.secretNames, skipped: vault.skipped, locations: vault.locations, hashes: vault.hashes };
            },
            config: azureNativeConfig(emulator, principal, config),
            secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    }

    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }
    const answered = (op: string): number => emulator.requests().filter((r) => r.operation === op && r.status === 200).length;
    const sha256Of = (location: string): string => createHash("sha256").update(fs.readFileSync(fileURLToPath(location))).digest("hex");
    const childNames = (s: LocalEngine): string[] =>
        s.state.resources.filter((r) => r.type === TYPE).map((r) => r.urn.split("::").pop()!).sort();

    describe("a small vault: filter, preview, up, add and remove secrets", () => {
        let folder: string;
        let s: LocalEngine;
        let firstLocations: Record<string, string>;

        before(() => {
            folder = uniqueFolder("vault-small");
            s = stack({ vaultUrl: emulator.vaults[SMALL], destination: folder, exclude: ["tmp-*"] });
        });

        it("preview lists the vault and plans one backup per secret, skipping excluded and disabled ones, backing up nothing", async () => {
            const lists = emulator.requests().filter((r) => r.operation === "list").length;
            const backups = answered("backup");
            const preview = ok(await s.preview());
            assert.deepEqual(dynamicOps(preview), ["create", "create"]);
            assert.ok(emulator.requests().filter((r) => r.operation === "list").length > lists, "the program listed the vault");
            assert.equal(answered("backup"), backups);
            assert.equal(fs.existsSync(folder), false);
        });

        it("up backs up each chosen secret into its own file and exports locations and hashes by secret name", async () => {
            const up = ok(await s.up());
            assert.deepEqual(dynamicOps(up), ["create", "create"]);
            assert.deepEqual(up.exports.names, ["api-key", "db-password"]);
            assert.deepEqual(up.exports.skipped, ["disabled-one"]);
            firstLocations = up.exports.locations as Record<string, string>;
            const hashes = up.exports.hashes as Record<string, string>;
            assert.deepEqual(Object.keys(firstLocations).sort(), ["api-key", "db-password"]);
            for (const [name, location] of Object.entries(firstLocations)) {
                assert.match(location, new RegExp(`_${name}_.*\\.kvbackup$`));
                assert.equal(sha256Of(location), hashes[name]);
            }
            assert.deepEqual(childNames(s), ["vault/api-key", "vault/db-password"]);
            const everything = JSON.stringify(s.state) + JSON.stringify(up.exports) + up.hostStdout + up.hostStderr;
            assert.doesNotMatch(everything, /db-v1-q8w7|db-v2-e6r5|api-key-t4y3|all-permissions-secret-1/, "no secret value or client secret in state, outputs or logs");
        });

        it("a second up with an unchanged vault takes no backup", async () => {
            const backups = answered("backup");
            const again = ok(await s.up());
            assert.deepEqual(dynamicOps(again), ["same", "same"]);
            assert.equal(answered("backup"), backups);
        });

        it("a secret added to the vault gets a backup on the next up; the others stay as they are", async () => {
            await client.setSecret("new-secret", "new-secret-d6f5");
            const up = ok(await s.up());
            assert.deepEqual(dynamicOps(up).sort(), ["create", "same", "same"]);
            const locations = up.exports.locations as Record<string, string>;
            assert.deepEqual(Object.keys(locations).sort(), ["api-key", "db-password", "new-secret"]);
            assert.equal(locations["api-key"], firstLocations["api-key"]);
        });

        it("a secret removed from the vault drops its SecretBackup but keeps its file, which restores it", async () => {
            const before = await snapshotSecret(client, "api-key");
            await deleteAndPurge(client, "api-key");
            const up = ok(await s.up());
            assert.deepEqual(dynamicOps(up).sort(), ["delete", "same", "same"]);
            assert.deepEqual(childNames(s), ["vault/db-password", "vault/new-secret"]);
            const kept = firstLocations["api-key"];
            assert.ok(fs.existsSync(fileURLToPath(kept)), "the backup file outlives its resource");
            await restoreBackup({ from: kept, vaultUrl: emulator.vaults[SMALL], credential: credentialFor(emulator) });
            assert.deepEqual(await snapshotSecret(client, "api-key"), before);
        });
    });

    it("includeDisabled: a secret whose current version is disabled is backed up too, not skipped", async () => {
        const folder = uniqueFolder("vault-disabled");
        const up = ok(await stack({ vaultUrl: emulator.vaults[SMALL], destination: folder, include: ["disabled-one"], includeDisabled: true }).up());
        assert.deepEqual(dynamicOps(up), ["create"]);
        assert.deepEqual(up.exports.skipped, []);
        const locations = up.exports.locations as Record<string, string>;
        assert.deepEqual(Object.keys(locations), ["disabled-one"]);
        assert.equal(sha256Of(locations["disabled-one"]), (up.exports.hashes as Record<string, string>)["disabled-one"]);
    });

    it("child names never collide across components (\"a\" + \"b-c\" and \"a-b\" + \"c\")", () => {
        assert.notEqual(childName("a", "b-c"), childName("a-b", "c"));
        assert.equal(childName("nightly", "db-password"), "nightly/db-password");
    });

    it("an identity without the list permission fails the program with Key Vault's 403 and says to grant list", async () => {
        const up = await stack({ vaultUrl: emulator.vaults[SMALL], destination: uniqueFolder("vault-nolist") }, 1).up();
        assert.match(up.error ?? "", /list of secret "\*" in vault https:\/\/127\.0\.0\.1:\d+ failed \(HTTP 403, code Forbidden, inner code AccessDenied, request id [0-9a-f-]{36}\)/);
        assert.match(up.error ?? "", /What to do: grant the identity the secrets "list" permission/);
        assert.deepEqual(dynamicOps(up), []);
    });

    it("an identity with list but not backup fails each backup with the provider's 403 message", async () => {
        const up = await stack({ vaultUrl: emulator.vaults[SMALL], destination: uniqueFolder("vault-nobackup"), include: ["db-password"] }, 2).up();
        assert.match(up.error ?? "", /backup of secret "db-password" in vault .* failed \(HTTP 403, code Forbidden, inner code AccessDenied/);
    });

    // Input errors stop the program before any resource exists: no host needed to see them.
    const programError = (args: VaultBackupArgs): Promise<string> => programErrorOf(() => new VaultBackup("vault", args), "vault-backup-test");

    it("a malformed include pattern fails the program naming the input, before the vault is listed", async () => {
        const lists = emulator.requests().filter((r) => r.operation === "list").length;
        assert.match(await programError({ vaultUrl: emulator.vaults[SMALL], include: ["db_password"] }), /VaultBackup: include\[0\] "db_password" is not a name pattern/);
        assert.equal(emulator.requests().filter((r) => r.operation === "list").length, lists);
    });

    it("a vault URL that is not a Key Vault host, or an unknown API version, fails the program naming the input", async () => {
        assert.match(await programError({ vaultUrl: "https://example.com" }), /VaultBackup: vaultUrl: "example\.com" is not a Key Vault host/);
        assert.match(await programError({ vaultUrl: emulator.vaults[SMALL], apiVersion: "2016-10-01" }), /VaultBackup: apiVersion: "2016-10-01" is not an API version/);
    });
});
