import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ContainerClient } from "@azure/storage-blob";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup } from "../../provider/vault-backup";
import { listBackups, restoreVault } from "../../index";
import { runCli } from "../../provider/cli";
import { RunningAzurite, startAzurite } from "../helpers/azurite";
import { azureNativeConfig, certificateClientFor, credentialFor, keyClientFor, pointAuthorityHostAt, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";
import { runSecretBackup } from "./cli-process";
import { snapshotCertificate, snapshotKey } from "../../scripts/vault-objects";
import { deleteAndPurge, emulatorEnv, snapshotSecret, type VersionSnapshot } from "./vault-snapshot";

// The worst day: a vault of 200 secrets, 20 keys and 5 certificates backed up through the real
// provider host to a folder and to Blob Storage (Azurite), then restored whole from each
// destination alone into fresh vaults.
const SECRETS = 200;
const KEYS = 20;
const CERTIFICATES = 5;
const OBJECTS = SECRETS + KEYS + CERTIFICATES;
const names = Array.from({ length: SECRETS }, (_, i) => `app-secret-${String(i + 1).padStart(3, "0")}`);
const keyNames = Array.from({ length: KEYS }, (_, i) => `app-key-${String(i + 1).padStart(2, "0")}`);
const certificateNames = Array.from({ length: CERTIFICATES }, (_, i) => `app-cert-${i + 1}`);

function seedKey(i: number) {
    return i % 2 ? { kty: "EC", crv: "P-256", tags: { n: String(i) } } : { kty: "RSA", key_size: 2048 };
}

function seedSecret(i: number, name: string) {
    if (i % 10 === 0) return { versions: [{ value: `old-${i}-${name}`, tags: { rotated: "2026-01" } }, { value: `mid-${i}-${name}`, enabled: false }, { value: `new-${i}-${name}`, contentType: "text/plain" }] };
    if (i % 7 === 0) return { value: `v-${i}-${name}`, contentType: "application/json", tags: { team: "db" } };
    return `value-${i}-${name}`;
}

describe(`disaster recovery: a vault of ${SECRETS} secrets, ${KEYS} keys and ${CERTIFICATES} certificates restored whole from a folder and from Blob Storage`, function () {
    this.timeout(300_000);
    let emulator: RunningEmulator;
    let azurite: RunningAzurite;
    let restoreAuthorityHost = (): void => undefined;
    let folder: string;
    let container: string;
    let source: SecretClient;
    const expected = new Map<string, VersionSnapshot[]>();
    const expectedKeys = new Map<string, unknown[]>();
    const expectedCertificates = new Map<string, unknown[]>();

    before(async () => {
        [emulator, azurite] = await Promise.all([
            startTestEmulator({
                seed: {
                    vaults: {
                        "dr-source": { secrets: Object.fromEntries(names.map((n, i) => [n, seedSecret(i, n)])), keys: Object.fromEntries(keyNames.map((n, i) => [n, seedKey(i)])),
                            certificates: Object.fromEntries(certificateNames.map((n, i) => [n, { tags: { i: String(i) } }])),
                        },
                        "dr-file": {},
                        "dr-blob": {},
                        "dr-damaged": {},
                    },
                },
                throttle: {}, // Key Vault's limits: 4,000 operations and 300 creations per vault per 10 s
                lag: { purgeMs: 4000 }, // a purged name answers 409 for 4 s, as the service does for a few seconds
            }),
            startAzurite(),
        ]);
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
        folder = uniqueFolder("dr-folder");
        container = `${azurite.accountUrl}/dr-${Date.now()}`;
        await new ContainerClient(container, credentialFor(emulator)).create();
        const vaultUrl = emulator.vaults["dr-source"];
        const stack = new LocalEngine({
            projectRoot: repoRoot,
            project: "dr-test",
            stack: uniqueName("st"),
            program: () => {
                const toFolder = new VaultBackup("to-folder", { vaultUrl, destination: folder, includeDisabled: true });
                const toBlob = new VaultBackup("to-blob", { vaultUrl, destination: `${container}/nightly/`, includeDisabled: true });
                return { folder: toFolder.locations, blob: toBlob.locations };
            },
            config: azureNativeConfig(emulator, 0),
            secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
        const started = Date.now();
        const up = await stack.up();
        assert.equal(up.error, undefined, `${up.error}\nhost stderr: ${up.hostStderr.slice(-2000)}`);
        assert.equal(fs.readdirSync(folder).length, OBJECTS);
        console.log(`      ${2 * OBJECTS} backups through the provider host in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        source = secretClientFor(emulator, "dr-source");
        for (const n of names) expected.set(n, await snapshotSecret(source, n));
        const keys = keyClientFor(emulator, "dr-source");
        for (const n of keyNames) expectedKeys.set(n, await snapshotKey(keys, n));
        const certificates = certificateClientFor(emulator, "dr-source");
        for (const n of certificateNames) expectedCertificates.set(n, await snapshotCertificate(certificates, n));
    });
    after(async () => {
        restoreAuthorityHost();
        await Promise.all([emulator?.close(), azurite?.stop()]);
    });

    async function assertVaultMatchesSource(vault: string, only = names, onlyKeys = keyNames, onlyCertificates = certificateNames): Promise<void> {
        const client = secretClientFor(emulator, vault);
        for (const n of only) assert.deepEqual(await snapshotSecret(client, n), expected.get(n), `${n} in ${vault}`);
        const keys = keyClientFor(emulator, vault);
        for (const n of onlyKeys) assert.deepEqual(await snapshotKey(keys, n), expectedKeys.get(n), `key ${n} in ${vault}`);
        const certificates = certificateClientFor(emulator, vault);
        for (const n of onlyCertificates) assert.deepEqual(await snapshotCertificate(certificates, n), expectedCertificates.get(n), `certificate ${n} in ${vault}`);
    }
    const restoreLog = (vault: string) => emulator.requests().filter((r) => r.vault === vault && /^((key|certificate)\.)?restore$/.test(r.operation));

    it("list shows one row per object (secret, key, certificate) from names alone, for the folder and the container", async () => {
        const run = await runSecretBackup(["list", folder], emulatorEnv(emulator));
        assert.equal(run.code, 0, run.stderr);
        const lines = run.stdout.trim().split("\n");
        assert.match(lines[0], /^vault\s+kind\s+name\s+backups\s+newest\s+size\s+sha256$/);
        assert.equal(lines.filter((l) => / secret +app-secret-\d{3} +1 +\d{4}-\d\d-\d\dT[\d:.]+Z +\d+ B +[0-9a-f]{12}$/.test(l)).length, SECRETS);
        assert.equal(lines.filter((l) => / key +app-key-\d\d +1 +\d{4}-\d\d-\d\dT[\d:.]+Z +\d+ B +[0-9a-f]{12}$/.test(l)).length, KEYS);
        assert.equal(lines.filter((l) => / certificate +app-cert-\d +1 +\d{4}-\d\d-\d\dT[\d:.]+Z +\d+ B +[0-9a-f]{12}$/.test(l)).length, CERTIFICATES);
        assert.match(run.stdout, new RegExp(`${OBJECTS} objects, ${OBJECTS} backups in ${folder}`));

        const blobRun = await runSecretBackup(["list", `${container}/nightly/`, "--json", "--name", "app-secret-01?", "--name", "app-key-0?", "--name", "app-cert-*", "--verify"], emulatorEnv(emulator));
        assert.equal(blobRun.code, 0, blobRun.stderr);
        const listing = JSON.parse(blobRun.stdout);
        assert.deepEqual(listing.objects.map((o: { kind: string; name: string }) => `${o.kind} ${o.name}`), [
            ...certificateNames.map((n) => `certificate ${n}`),
            ...keyNames.slice(0, 9).map((n) => `key ${n}`),
            ...names.slice(9, 19).map((n) => `secret ${n}`),
        ]);
        for (const o of listing.objects) {
            assert.equal(o.backups.length, 1);
            assert.match(o.newest.sha256, /^[0-9a-f]{64}$/, "the blob metadata's full hash");
            assert.deepEqual(o.verification, { sound: 1, failed: [] });
        }
    });

    it("restore --all from the folder brings every object back with every version; a second run skips all and exits 0", async () => {
        const started = Date.now();
        const run = await runSecretBackup(["restore", "--from", folder, "--vault", emulator.vaults["dr-file"], "--all"], emulatorEnv(emulator));
        const seconds = (Date.now() - started) / 1000;
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stdout, new RegExp(`${OBJECTS} restored, 0 skipped, 0 failed of ${OBJECTS} from `));
        assert.match(run.stdout, /Everything asked for is in the vault\./);
        assert.doesNotMatch(run.stdout + run.stderr, /value-\d|old-\d|new-\d/, "no secret value printed");
        await assertVaultMatchesSource("dr-file");
        console.log(`      restore --all of ${OBJECTS} objects (CLI, folder): ${seconds.toFixed(1)} s`);

        const again = await runSecretBackup(["restore", "--from", folder, "--vault", emulator.vaults["dr-file"], "--all", "--json"], emulatorEnv(emulator));
        assert.equal(again.code, 0, again.stderr);
        const result = JSON.parse(again.stdout);
        assert.deepEqual(result.counts, { total: OBJECTS, restored: 0, skipped: OBJECTS, failed: 0, planned: 0, notAttempted: 0 });
        for (const o of result.objects) assert.match(o.why, new RegExp(`^a ${o.kind} of this name exists in the vault; restore never overwrites$`));
        assert.equal(restoreLog("dr-file").length, OBJECTS, "the second run sent no restore");
    });

    it("--on-conflict fail reports a name in use as failed (exit 1) and still restores the others", async () => {
        const client = secretClientFor(emulator, "dr-file");
        await deleteAndPurge(client, "app-secret-002");
        // The purge lag (4 s) answers 409 first: retried with back-off, then restored.
        const run = await runSecretBackup(
            ["restore", "--from", folder, "--vault", emulator.vaults["dr-file"], "--name", "app-secret-001", "--name", "app-secret-002", "--on-conflict", "fail"],
            emulatorEnv(emulator),
        );
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /app-secret-001\s+failed\s+not restored/);
        assert.match(run.stdout, /failed secret app-secret-001: a secret of this name exists in the vault; restore never overwrites\.\n  What to do: keep the vault's secret \(run with --on-conflict skip\)/);
        assert.match(run.stdout, /app-secret-002\s+restored/);
        const statuses = restoreLog("dr-file").slice(OBJECTS).map((r) => r.status);
        assert.ok(statuses.includes(409) && statuses.at(-1) === 200, `restore answers after the purge: ${statuses}`);
        await assertVaultMatchesSource("dr-file", ["app-secret-002"], [], []);
    });

    it(`restoreVault from Blob Storage survives throttling (limit scaled to 80 creations per 2 s, and 20 scripted 429s) and brings all ${OBJECTS} back`, async () => {
        emulator.faults.setThrottle({ operations: 4000, creations: 80, windowMs: 2000 });
        // The scaled limit throttles only when this machine restores faster than 40 per second;
        // 20 scripted 429s (Throttled, no Retry-After) make sure the back-off is exercised on a busy machine too.
        emulator.faults.add({ vault: "dr-blob", operation: "restore", kind: "status", status: 429, count: 20 });
        try {
            const progress: number[] = [];
            const result = await restoreVault({
                from: `${container}/nightly/`,
                vaultUrl: emulator.vaults["dr-blob"],
                all: true,
                credential: credentialFor(emulator),
                restoresPer10Seconds: 2000, // pacing far above the scaled limit, so the vault answers 429
                parallel: 16,
                onProgress: (p) => progress.push(p.restored + p.skipped + p.failed),
            });
            assert.deepEqual(result.counts, { total: OBJECTS, restored: OBJECTS, skipped: 0, failed: 0, planned: 0, notAttempted: 0 }, JSON.stringify(result.objects.filter((o) => o.outcome !== "restored").slice(0, 3)));
            assert.equal(result.complete, true);
            assert.equal(progress.length, OBJECTS);
            assert.equal(progress.at(-1), OBJECTS);
            const throttled = restoreLog("dr-blob").filter((r) => r.status === 429).length;
            assert.ok(throttled >= 20, `the vault throttled the restores (${throttled} answers 429)`);
            assert.equal(restoreLog("dr-blob").filter((r) => r.status === 200).length, OBJECTS);
            console.log(`      restoreVault of ${OBJECTS} objects from Blob Storage: ${throttled} answers 429, all restored`);
        } finally {
            emulator.faults.clear();
            emulator.faults.setThrottle({});
        }
        await assertVaultMatchesSource("dr-blob");
    });

    it("a damaged backup is reported with what to do and the rest restore; --dry-run first sends nothing", async () => {
        const copy = uniqueFolder("dr-damaged");
        fs.cpSync(folder, copy, { recursive: true });
        const listing = await listBackups(copy, { names: ["app-secret-00?"] });
        const damaged = fileURLToPath(listing.objects[4].newest.location); // app-secret-005
        fs.truncateSync(damaged, fs.statSync(damaged).size - 40);
        const args = ["restore", "--from", copy, "--vault", emulator.vaults["dr-damaged"], "--name", "app-secret-00?"];

        const dry = await runSecretBackup([...args, "--dry-run"], emulatorEnv(emulator));
        assert.equal(dry.code, 1, dry.stdout + dry.stderr);
        assert.match(dry.stdout, /dry run: 8 would be restored, 0 skipped, 1 would fail; nothing was sent/);
        assert.equal(restoreLog("dr-damaged").length, 0);

        const run = await runSecretBackup(args, emulatorEnv(emulator));
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /app-secret-005\s+failed\s+backup hash-mismatch \(see below\)/);
        assert.match(
            run.stdout,
            new RegExp(`failed secret app-secret-005: Backup ${escape(listing.objects[4].newest.location)} hashes to [0-9a-f]{64}, but its name says [0-9a-f]{12}\\.\\.\\.: it changed since it was written, or it is another backup under this name\\.\n  What to do: no other backup of it is in this destination`),
        );
        assert.match(run.stdout, /8 restored, 0 skipped, 1 failed of 9/);
        assert.match(run.stdout, /Not everything asked for is in the vault and usable: 1 failed \(exit code 1\)/);
        const restored = names.slice(0, 9).filter((n) => n !== "app-secret-005");
        await assertVaultMatchesSource("dr-damaged", restored, [], []);
        fs.rmSync(copy, { recursive: true, force: true });
    });

    it("on a terminal, a progress line counts the objects as they are done, and is cleared before the table", async () => {
        const saved = { ...process.env };
        Object.assign(process.env, emulatorEnv(emulator));
        const lines: string[] = [];
        let out = "";
        try {
            const code = await runCli(["restore", "--from", folder, "--vault", emulator.vaults["dr-damaged"], "--name", "app-secret-1?0", "--dry-run"], {
                out: (t) => void (out += t),
                err: (t) => assert.fail(`unexpected stderr: ${t}`),
                progress: (line) => void lines.push(line),
            });
            assert.equal(code, 0, out);
        } finally {
            for (const k of Object.keys(emulatorEnv(emulator))) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
        }
        assert.deepEqual(lines, [
            ...Array.from({ length: 10 }, (_, i) => `restoring into ${emulator.vaults["dr-damaged"]}: ${i + 1} of 10 done (${i + 1} would restore, 0 skipped, 0 failed)`),
            "",
        ]);
        assert.match(out, /dry run: 10 would be restored/);
    });

    it("--json failures print one JSON error object on stdout (exit 1 and 2)", async () => {
        const missing = path.join(folder, "no-such-folder");
        const run = await runSecretBackup(["restore", "--from", missing, "--vault", emulator.vaults["dr-file"], "--all", "--json"], emulatorEnv(emulator));
        assert.equal(run.code, 1, run.stderr);
        const error = JSON.parse(run.stdout).error;
        assert.equal(error.exitCode, 1);
        assert.equal(error.reason, "missing");
        assert.match(error.message, new RegExp(`The folder ${escape(missing)} does not exist`));

        const usage = await runSecretBackup(["list", folder, "--kind", "password", "--json"]);
        assert.equal(usage.code, 2);
        assert.deepEqual(JSON.parse(usage.stdout).error, {
            command: "list",
            exitCode: 2,
            name: "BackupInputError",
            message: '--kind "password" is not one of secret, key, certificate',
            input: "kind",
        });
    });
});

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
