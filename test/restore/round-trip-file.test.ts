import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { FileDestination } from "../../provider/destinations/file";
import { sha256Hex } from "../../provider/destinations/destination";
import { restoreBackup, RestoreError } from "../../provider/restore";
import { credentialFor, secretClientFor, startTestEmulator } from "../helpers/emulator";
import { repoRoot, scratchRoot } from "../helpers/paths";
import { runSecretBackup } from "./cli-process";
import { fakeAzOnPath } from "../helpers/fake-az";
import { deleteAndPurge, emulatorEnv, snapshotSecret } from "./vault-snapshot";

const VAULT = "restore-files";
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe("restore from a file backup on the emulator", () => {
    let emulator: RunningEmulator;
    let client: SecretClient;
    let vaultUrl: string;
    let dir: string;

    before(async () => {
        emulator = await startTestEmulator({
            seed: {
                vaults: {
                    [VAULT]: {
                        secrets: {
                            "db-password": {
                                versions: [
                                    { value: "pw-one-9f3k", contentType: "text/plain", tags: { team: "payments" } },
                                    { value: "pw-two-disabled-2h7d", enabled: false },
                                    { value: "pw-three-8x1q" },
                                ],
                            },
                            "api-key": "api-key-value-5t6y",
                            "in-use": "in-use-value-1a2b",
                            "soft-deleted": "soft-deleted-value-3c4d",
                            "no-permission": "no-permission-value-7e8f",
                            throttled: "throttled-value-5g6h",
                        },
                    },
                },
            },
        });
        client = secretClientFor(emulator, VAULT);
        vaultUrl = emulator.vaults[VAULT];
        dir = path.join(scratchRoot, `restore-files-${randomUUID()}`);
    });
    after(async () => {
        await emulator?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Backs `name` up as SecretBackup's create does: Backup Secret, then the file destination. */
    async function backUp(name: string, c: SecretClient = client, url = vaultUrl): Promise<{ location: string; sha256: string }> {
        const blob = (await c.backupSecret(name))!;
        const sha256 = sha256Hex(blob);
        const record = { vaultUrl: url, secretName: name, backedUpAt: new Date().toISOString(), sha256, sizeBytes: blob.length };
        return { location: await new FileDestination(dir).write(blob, record), sha256 };
    }

    /** The last Restore Secret request the vault received with a token. */
    function lastRestore(): { apiVersion: string; status: number } {
        return emulator.requests().filter((r) => r.operation === "restore" && r.status !== 401).at(-1)!;
    }

    function restoreCalls(): number {
        return emulator.requests().filter((r) => r.operation === "restore").length;
    }

    it("secret-backup restore brings back every version, value and attribute after delete and purge, printing no value", async () => {
        const before = await snapshotSecret(client, "db-password");
        assert.equal(before.length, 3);
        const { location, sha256 } = await backUp("db-password");
        await deleteAndPurge(client, "db-password");
        await assert.rejects(client.getSecret("db-password"), { statusCode: 404 });

        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl, "--sha256", sha256], emulatorEnv(emulator));
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, new RegExp(`verified ${location}: secret backup, \\d+ bytes, sha256 ${sha256}, A256KW/A256CBC-HS512`));
        assert.match(run.stdout, new RegExp(`restored secret db-password into ${vaultUrl} \\(${vaultUrl}/secrets/db-password/[0-9a-f]+, request id ${GUID.source}\\)`));
        assert.doesNotMatch(run.stdout + run.stderr, /pw-one|pw-two|pw-three/);
        assert.equal(lastRestore().apiVersion, "7.4", "the default API version on the wire");
        // The README's sample output of a restore shows the same lines, in the same order.
        const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
        const sample = /npx secret-backup restore [^\n]*\n[^\n]*\n((?:# [^\n]*\n)+)/.exec(readme)?.[1] ?? "";
        const firstWords = (lines: string[]) => lines.map((l) => l.split(" ")[0]);
        assert.deepEqual(firstWords(sample.trim().split("\n").map((l) => l.slice(2))), firstWords(run.stdout.trim().split("\n")));
        assert.deepEqual(await snapshotSecret(client, "db-password"), before);
    });

    it("restoreBackup from a plain path restores and reports name, id and Key Vault's request id", async () => {
        const before = await snapshotSecret(client, "api-key");
        const { location } = await backUp("api-key");
        await deleteAndPurge(client, "api-key");
        const plainPath = path.relative(process.cwd(), new URL(location).pathname);
        const restored = await restoreBackup({ from: plainPath, vaultUrl, credential: credentialFor(emulator) });
        assert.equal(restored.secretName, "api-key");
        assert.equal(restored.id, `${vaultUrl}/secrets/api-key/${before[0].version}`);
        assert.match(restored.requestId, GUID);
        assert.equal(restored.backup.location, location);
        assert.deepEqual(await snapshotSecret(client, "api-key"), before);
        assert.doesNotMatch(JSON.stringify(restored), /api-key-value/);
    });

    it("409 while the secret exists: exit 1, Key Vault's facts, and 'recover or purge' advice", async () => {
        const { location } = await backUp("in-use");
        await assert.rejects(restoreBackup({ from: location, vaultUrl, credential: credentialFor(emulator) }), (e: unknown) => {
            assert.ok(e instanceof RestoreError, String(e));
            assert.equal(e.statusCode, 409);
            assert.equal(e.code, "Conflict");
            assert.match(e.requestId ?? "", GUID);
            assert.match(e.message, new RegExp(`Restore of ${location} into ${vaultUrl} failed: Key Vault answered HTTP 409, code Conflict, request id ${e.requestId}: There was a conflict restoring the secret`));
            assert.match(e.message, /What to do: .*already exists.*active or soft-deleted.*recover.*purge/);
            return true;
        });
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl, "--api-version", "7.6"], emulatorEnv(emulator));
        assert.equal(run.code, 1);
        assert.match(run.stderr, /HTTP 409, code Conflict, request id [0-9a-f-]{36}/);
        assert.deepEqual(lastRestore(), { ...lastRestore(), apiVersion: "7.6", status: 409 }, "--api-version is the version on the wire");
        assert.equal((await client.getSecret("in-use")).value, "in-use-value-1a2b", "the existing secret is untouched");
    });

    it("409 while the secret is soft-deleted; after recovering it the secret is back and the backup is not needed", async () => {
        const { location } = await backUp("soft-deleted");
        await (await client.beginDeleteSecret("soft-deleted", { intervalInMs: 10 })).pollUntilDone();
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], emulatorEnv(emulator));
        assert.equal(run.code, 1);
        assert.match(run.stderr, /HTTP 409.*\nWhat to do: .*soft-deleted.*az keyvault secret recover/s);
        await (await client.beginRecoverDeletedSecret("soft-deleted", { intervalInMs: 10 })).pollUntilDone();
        assert.equal((await client.getSecret("soft-deleted")).value, "soft-deleted-value-3c4d");
    });

    it("400 for a backup from another subscription/geography (another emulator's key): 'pick the right file'", async () => {
        const other = await startTestEmulator({ vaults: ["elsewhere"] });
        try {
            const otherClient = secretClientFor(other, "elsewhere");
            await otherClient.setSecret("foreign", "foreign-value-0z9y");
            const { location } = await backUp("foreign", otherClient, other.vaults.elsewhere);
            const verify = await runSecretBackup(["verify", location]);
            assert.equal(verify.code, 0, "well framed: only Key Vault can tell it cannot decrypt it");
            const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], emulatorEnv(emulator));
            assert.equal(run.code, 1);
            assert.match(run.stderr, /HTTP 400, code Malformed backup blob, request id [0-9a-f-]{36}: Backup blob contains invalid or corrupt version\./);
            assert.match(run.stderr, /What to do: .*Pick the right file.*same Azure subscription and geography/);
            await assert.rejects(client.getSecret("foreign"), { statusCode: 404 });
        } finally {
            await other.close();
        }
    });

    it("403 for an identity without the restore permission names the permission to grant", async () => {
        const { location } = await backUp("no-permission");
        await deleteAndPurge(client, "no-permission");
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], emulatorEnv(emulator, 1));
        assert.equal(run.code, 1);
        assert.match(run.stderr, /HTTP 403, code Forbidden, inner code AccessDenied, request id [0-9a-f-]{36}/);
        assert.match(run.stderr, /What to do: .*restore permission/);
        assert.doesNotMatch(run.stderr, new RegExp(emulator.principals[1].clientSecret));
    });

    it("a wrong client secret: exit 1, Entra ID refused the credential (not 'no usable credential'), the secret never echoed", async () => {
        const { location } = await backUp("in-use");
        const wrong = `wrong-${randomUUID()}`;
        const authenticated = () => emulator.requests().filter((r) => r.operation === "restore" && r.status !== 401).length;
        const calls = authenticated();
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], { ...emulatorEnv(emulator), AZURE_CLIENT_SECRET: wrong });
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, new RegExp(`Restore of ${location} into ${vaultUrl} failed: code AuthenticationError: `));
        assert.match(run.stderr, /\nWhat to do: Microsoft Entra ID refused the credential: check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID/);
        assert.doesNotMatch(run.stderr, /no usable Azure credential/);
        assert.ok(!(run.stdout + run.stderr).includes(wrong), "the wrong client secret is not echoed");
        assert.equal(authenticated(), calls, "no restore reached the vault with a token");
    });

    it("no credential at all: exit 1, 'no usable Azure credential', and the Azure CLI on PATH is never consulted", async () => {
        const { location } = await backUp("in-use");
        const az = fakeAzOnPath();
        try {
            const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], {
                ...az.env, AZURE_AUTHORITY_HOST: emulator.authorityHost,
                AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined, AZURE_TENANT_ID: undefined,
            });
            assert.equal(run.code, 1, run.stderr);
            assert.match(run.stderr, /failed: code CredentialUnavailableError: .*\nWhat to do: no usable Azure credential: set AZURE_CLIENT_ID/s);
            assert.deepEqual(az.calls(), [], "the fake az first on PATH was not called");
        } finally {
            az.remove();
        }
    });

    it("429s on restore are backed off and retried; when they last, the message says the vault is throttling", async () => {
        const before = await snapshotSecret(client, "throttled");
        const { location } = await backUp("throttled");
        await deleteAndPurge(client, "throttled");
        const args = { from: location, vaultUrl, credential: credentialFor(emulator), throttleBackoffMs: [20, 40] };
        emulator.faults.add({ vault: VAULT, operation: "restore", kind: "status", status: 429, count: 3 });
        await assert.rejects(restoreBackup(args), (e: unknown) => {
            assert.ok(e instanceof RestoreError, String(e));
            assert.equal(e.statusCode, 429);
            assert.match(e.message, /HTTP 429, code Throttled, request id [0-9a-f-]{36}.*\nThe vault is throttling: all 3 attempts were answered 429, backing off 0\.02, 0\.04 s between them\.\nWhat to do: .*throttling/s);
            return true;
        });
        emulator.faults.add({ vault: VAULT, operation: "restore", kind: "status", status: 429, count: 2 });
        const restored = await restoreBackup(args);
        assert.equal(restored.secretName, "throttled");
        assert.deepEqual(await snapshotSecret(client, "throttled"), before);
    });

    it("a damaged backup is refused before anything is sent to the vault", async () => {
        const { location } = await backUp("in-use");
        const file = new URL(location).pathname;
        fs.chmodSync(file, 0o600);
        fs.truncateSync(file, 500);
        const calls = restoreCalls();
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl], emulatorEnv(emulator));
        assert.equal(run.code, 1);
        // Truncated: it no longer hashes to its name, the same sentence every command prints.
        assert.match(run.stderr, /hashes to [0-9a-f]{64}, but its name says [0-9a-f]{12}\.\.\.: it changed since it was written/);
        assert.equal(restoreCalls(), calls, "no Restore Secret request reached the vault");
    });

    it("a backup whose hash differs from --sha256 is refused before anything is sent", async () => {
        const { location } = await backUp("in-use");
        const calls = restoreCalls();
        const run = await runSecretBackup(["restore", "--from", location, "--vault", vaultUrl, "--sha256", "f".repeat(64)], emulatorEnv(emulator));
        assert.equal(run.code, 1);
        assert.match(run.stderr, /not the expected f{64}/);
        assert.equal(restoreCalls(), calls);
    });
});
