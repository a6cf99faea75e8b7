import { strict as assert } from "node:assert";
import { ContainerClient } from "@azure/storage-blob";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { openDestination } from "../../provider/destinations";
import { sha256Hex } from "../../provider/destinations/destination";
import { restoreBackup } from "../../provider/restore";
import { verifyBackup, BackupVerificationError } from "../../provider/verify";
import { RunningAzurite, startAzurite } from "../helpers/azurite";
import { credentialFor, secretClientFor, startTestEmulator } from "../helpers/emulator";
import { runSecretBackup } from "./cli-process";
import { deleteAndPurge, emulatorEnv, snapshotSecret } from "./vault-snapshot";

const VAULT = "restore-blobs";

describe("restore from a Blob Storage backup (emulator + Azurite)", () => {
    let emulator: RunningEmulator;
    let azurite: RunningAzurite;
    let client: SecretClient;
    let vaultUrl: string;
    let containerUrl: string;

    before(async () => {
        [emulator, azurite] = await Promise.all([
            startTestEmulator({
                seed: {
                    vaults: {
                        [VAULT]: {
                            secrets: {
                                "storage-key": { versions: [{ value: "sk-old-4r5t", tags: { rotated: "2026-01" } }, { value: "sk-new-6y7u" }] },
                                "cli-secret": "cli-secret-value-8i9o",
                                tampered: "tampered-value-0p1a",
                            },
                        },
                    },
                },
            }),
            startAzurite(),
        ]);
        client = secretClientFor(emulator, VAULT);
        vaultUrl = emulator.vaults[VAULT];
        containerUrl = `${azurite.accountUrl}/kv-backups`;
        await new ContainerClient(containerUrl, credentialFor(emulator)).create();
    });
    after(async () => {
        await Promise.all([emulator?.close(), azurite?.stop()]);
    });

    /** Backs `name` up as SecretBackup's create does with a Blob Storage destination. */
    async function backUp(name: string): Promise<{ location: string; sha256: string }> {
        const blob = (await client.backupSecret(name))!;
        const sha256 = sha256Hex(blob);
        const record = { vaultUrl, secretName: name, backedUpAt: new Date().toISOString(), sha256, sizeBytes: blob.length };
        const destination = openDestination(`${containerUrl}/nightly`, { credential: credentialFor(emulator) });
        return { location: await destination.write(blob, record), sha256 };
    }

    it("restoreBackup from a blob URL brings back every version and value after delete and purge", async () => {
        const before = await snapshotSecret(client, "storage-key");
        const { location, sha256 } = await backUp("storage-key");
        assert.match(location, new RegExp(`^${containerUrl}/nightly/.*_storage-key_.*\\.kvbackup$`));
        await deleteAndPurge(client, "storage-key");
        const restored = await restoreBackup({ from: location, vaultUrl, sha256, credential: credentialFor(emulator) });
        assert.equal(restored.secretName, "storage-key");
        assert.equal(restored.backup.location, location);
        assert.deepEqual(await snapshotSecret(client, "storage-key"), before);
    });

    it("secret-backup verify and restore read the blob with the environment's credential", async () => {
        const before = await snapshotSecret(client, "cli-secret");
        const { location, sha256 } = await backUp("cli-secret");
        const verify = await runSecretBackup(["verify", location, "--sha256", sha256], emulatorEnv(emulator));
        assert.equal(verify.code, 0, verify.stderr);
        assert.match(verify.stdout, new RegExp(`^verified ${location}: secret backup, \\d+ bytes, sha256 ${sha256}`));
        await deleteAndPurge(client, "cli-secret");
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], emulatorEnv(emulator));
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /restored secret cli-secret into /);
        assert.doesNotMatch(run.stdout + run.stderr, /cli-secret-value/);
        assert.deepEqual(await snapshotSecret(client, "cli-secret"), before);
    });

    it("a blob changed after it was written fails verify --sha256 (exit 1) and restore sends nothing", async () => {
        const { location, sha256 } = await backUp("tampered");
        const other = (await client.backupSecret("tampered"))!; // well framed, but not the recorded backup
        await new ContainerClient(containerUrl, credentialFor(emulator)).getBlockBlobClient(location.slice(containerUrl.length + 1)).upload(other, other.length);
        const run = await runSecretBackup(["verify", location, "--sha256", sha256], emulatorEnv(emulator));
        assert.equal(run.code, 1);
        assert.match(run.stderr, new RegExp(`hashes to [0-9a-f]{64}, not the expected ${sha256}`));
        const restoresBefore = emulator.requests().filter((r) => r.operation === "restore").length;
        await assert.rejects(restoreBackup({ from: location, vaultUrl, sha256, credential: credentialFor(emulator) }), BackupVerificationError);
        assert.equal(emulator.requests().filter((r) => r.operation === "restore").length, restoresBefore);
    });

    it("a missing blob and a missing container are reported as missing, naming the location", async () => {
        for (const location of [`${containerUrl}/nightly/gone.kvbackup`, `${azurite.accountUrl}/no-such-container/x.kvbackup`]) {
            await assert.rejects(verifyBackup(location, { credential: credentialFor(emulator) }), (e: unknown) => {
                assert.ok(e instanceof BackupVerificationError, String(e));
                assert.equal(e.reason, "missing");
                assert.match(e.message, new RegExp(`Backup ${location} does not exist`));
                return true;
            });
        }
    });

    it("a blob URL with a SAS query is refused as a usage error without echoing the token", async () => {
        const run = await runSecretBackup(["verify", `${containerUrl}/x.kvbackup?sv=2024&sig=SECRETSIGNATURE`]);
        assert.equal(run.code, 2);
        assert.match(run.stderr, /is not a Blob Storage backup location/);
        assert.doesNotMatch(run.stderr, /SECRETSIGNATURE/);
    });
});
