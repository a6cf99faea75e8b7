import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import type { RunningEmulator } from "../../emulator";
import { FileDestination } from "../../provider/destinations/file";
import { BlobDestination } from "../../provider/destinations/blob";
import { backupObjectName, sha256Hex, type BackupRecord } from "../../provider/destinations/destination";
import { pruneBackups } from "../../index";
import { RunningAzurite, startAzurite } from "../helpers/azurite";
import { credentialFor, startTestEmulator } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { exampleBackupBytes } from "./example-backup";
import { runSecretBackup } from "./cli-process";
import { emulatorEnv } from "./vault-snapshot";
import { escapeRegExp, flipOneCiphertextByte } from "./recovery-helpers";

const DAY = 86_400_000;
const VAULT = "https://prunevault.vault.azure.net";
const OBJECTS = ["db-password", "api-key", "storage-key", "Cert-Pass", "queue-token", "cache-secret"];
/** Backups of each object, in days before now: ten each, unevenly spaced over 120 days. */
const AGES_DAYS = [0.5, 1, 3, 8, 15, 29, 31, 45, 90, 120];

/** A sound backup (the 7.4 spec's example blob) with a tail byte varied so each copy has its own hash; framing intact. */
function backupBytes(seed: number): Uint8Array {
    const bytes = Buffer.from(exampleBackupBytes());
    // The last character of the JWE tag part: changing it keeps base64url length and framing.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bytes[bytes.length - 2] = alphabet.charCodeAt(seed % 64);
    return bytes;
}

function record(name: string, ageDays: number, bytes: Uint8Array, now: number, vaultUrl = VAULT): BackupRecord {
    return { vaultUrl, secretName: name, backedUpAt: new Date(now - ageDays * DAY).toISOString(), sha256: sha256Hex(bytes), sizeBytes: bytes.length };
}

/** What the policy must keep, computed independently of the code under test: per object, ages sorted newest first. */
function expectedKept(keepLast: number, keepWithinDays?: number): Set<string> {
    const kept = new Set<string>();
    for (const name of OBJECTS) {
        AGES_DAYS.forEach((age, i) => {
            if (i < keepLast || (keepWithinDays !== undefined && age < keepWithinDays)) kept.add(`${name}@${age}`);
        });
    }
    return kept;
}

describe("secret-backup prune: retention per object over many objects and times", function () {
    this.timeout(120_000);

    async function fillFolder(): Promise<{ folder: string; index: Map<string, string>; foreign: string[] }> {
        const folder = uniqueFolder("prune");
        const destination = new FileDestination(folder);
        const now = Date.now();
        const index = new Map<string, string>(); // file name -> name@age
        let seed = 0;
        for (const name of OBJECTS) {
            for (const age of AGES_DAYS) {
                const bytes = backupBytes(seed++);
                const location = await destination.write(bytes, record(name, age, bytes, now));
                index.set(path.basename(location), `${name}@${age}`);
            }
        }
        // Foreign entries: never touched, whatever their age.
        const old = record("db-password", 400, backupBytes(1), now);
        const foreign = [
            "notes.txt",
            "restore-runbook.kvbackup",
            backupObjectName({ ...old, sha256: sha256Hex(Buffer.from("not a backup")) }), // a backup's name, bytes of something else
            backupObjectName({ ...record("api-key", 300, backupBytes(2), now), sha256: "ab".repeat(32) }), // sound bytes under a name whose hash they do not have
        ];
        fs.writeFileSync(path.join(folder, foreign[0]), "keep me");
        fs.writeFileSync(path.join(folder, foreign[1]), "keep me too");
        fs.writeFileSync(path.join(folder, foreign[2]), "not a backup");
        fs.writeFileSync(path.join(folder, foreign[3]), backupBytes(2));
        fs.mkdirSync(path.join(folder, backupObjectName(record("api-key", 500, backupBytes(3), now))));
        return { folder, index, foreign };
    }

    const remaining = (folder: string, index: Map<string, string>): Set<string> =>
        new Set(fs.readdirSync(folder).filter((f) => index.has(f)).map((f) => index.get(f)!));

    it("without --yes prints the plan and removes nothing; with --yes keeps exactly --keep-last 3 per object and leaves foreign files alone", async () => {
        const { folder, index, foreign } = await fillFolder();
        const before = fs.readdirSync(folder).sort();

        const plan = await runSecretBackup(["prune", folder, "--keep-last", "3"]);
        assert.equal(plan.code, 0, plan.stderr);
        assert.deepEqual(fs.readdirSync(folder).sort(), before, "nothing removed without --yes");
        assert.equal(plan.stdout.split("\n").filter((l) => l.startsWith("would remove ")).length, OBJECTS.length * 7);
        assert.match(plan.stdout, /plan: 42 to remove, 18 to keep, \d+ left alone in .* Nothing was removed: run again with --yes to remove them\./);

        const run = await runSecretBackup(["prune", folder, "--keep-last", "3", "--yes"]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /42 removed, 0 failed, 18 kept/);
        assert.deepEqual(remaining(folder, index), expectedKept(3));
        for (const f of foreign) assert.ok(fs.existsSync(path.join(folder, f)), `${f} left alone`);
        assert.match(run.stdout, new RegExp(`left alone ${pathToFileURL(path.join(folder, foreign[2])).href.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: does not verify as this tool's backup \\(damaged\\)`));
        assert.match(run.stdout, /left alone .*: does not verify as this tool's backup \(hash-mismatch\)/);
    });

    it("--keep-last 1 --keep-within 30d keeps the newest and everything younger than 30 days, per object", async () => {
        const { folder, index } = await fillFolder();
        const result = await pruneBackups({ destination: folder, keepLast: 1, keepWithinMs: 30 * DAY, apply: true });
        assert.deepEqual(remaining(folder, index), expectedKept(1, 30));
        assert.equal(result.removed.length, OBJECTS.length * 4);
        assert.equal(result.failed.length, 0);
        // Again: the policy holds already, nothing more goes.
        const again = await pruneBackups({ destination: folder, keepLast: 1, keepWithinMs: 30 * DAY, apply: true });
        assert.equal(again.removed.length, 0);
        assert.deepEqual(remaining(folder, index), expectedKept(1, 30));
    });

    it("--vault and --name limit the policy to those objects", async () => {
        const { folder, index } = await fillFolder();
        const run = await runSecretBackup(["prune", folder, "--keep-last", "2", "--name", "db-*", "--vault", "prunevault.vault.azure.net", "--yes", "--json"]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout).removed.length, 8);
        const left = remaining(folder, index);
        assert.equal([...left].filter((k) => k.startsWith("db-password@")).length, 2);
        assert.equal(left.size, OBJECTS.length * AGES_DAYS.length - 8);
    });

    it("a damaged newest backup does not count: --keep-last 1 keeps the newest verified one, removes only older good ones, and names the object (issue 19, bug 1)", async () => {
        const folder = uniqueFolder("prune-damaged");
        const destination = new FileDestination(folder);
        const now = Date.now();
        const write = async (name: string, ageDays: number, seed: number): Promise<string> => {
            const bytes = backupBytes(seed);
            return fileURLToPath(await destination.write(bytes, record(name, ageDays, bytes, now)));
        };
        const [newest, middle, oldest] = [await write("api-key", 1, 10), await write("api-key", 2, 11), await write("api-key", 3, 12)];
        // Every backup of this one is damaged: nothing of it may go.
        const allBad = [await write("db-password", 1, 13), await write("db-password", 2, 14)];
        for (const f of [newest, ...allBad]) flipOneCiphertextByte(f);

        const run = await runSecretBackup(["prune", folder, "--keep-last", "1", "--yes"]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.ok(fs.existsSync(middle), "the newest good backup survives");
        assert.ok(fs.existsSync(newest), "the damaged one is left for a person to look at");
        assert.ok(!fs.existsSync(oldest), "the older good backup beyond the policy goes");
        for (const f of allBad) assert.ok(fs.existsSync(f), `${path.basename(f)} kept: db-password has no verified backup`);
        assert.match(run.stdout, /1 removed, 0 failed, 1 kept, 3 left alone in /);
        assert.match(run.stdout, new RegExp(`DAMAGED backups of secret api-key \\(vault prunevault\\.vault\\.azure\\.net\\): 1 of 3 do not verify \\(hash-mismatch\\); kept its newest verified backup ${escapeRegExp(pathToFileURL(middle).href)}`));
        assert.match(run.stdout, /DAMAGED backups of secret db-password \(vault prunevault\.vault\.azure\.net\): 2 of 2 do not verify \(hash-mismatch\); NONE of its backups verifies: nothing of it was removed/);
        assert.match(run.stdout, new RegExp(`  Backup ${escapeRegExp(pathToFileURL(newest).href)} hashes to [0-9a-f]{64}, but its name says [0-9a-f]{12}\\.\\.\\.: it changed since it was written`));
        assert.match(run.stdout, /2 objects have damaged backups \(named above\)/);

        const list = await runSecretBackup(["list", folder, "--verify", "--name", "api-key"]);
        assert.equal(list.code, 1);
        assert.match(list.stdout, /api-key +2 .* NO: 1 of 2 fail \(hash-mismatch\)/);
        const verify = await runSecretBackup(["verify", middle]);
        assert.equal(verify.code, 0, verify.stderr);

        // Run again: the policy holds already; the good backup is still never counted against the damaged one.
        const again = await pruneBackups({ destination: folder, keepLast: 1, apply: true });
        assert.equal(again.removed.length, 0);
        assert.deepEqual(again.damaged.map((d) => [d.name, d.verified, d.failed.length]), [["api-key", 1, 1], ["db-password", 0, 2]]);
        assert.ok(fs.existsSync(middle));
    });

    it("bad policies are usage errors naming the option", async () => {
        for (const [args, pattern] of [
            [["prune", "x", "--keep-last", "0"], /--keep-last must be a whole number of at least 1 \(the newest verified backup is always kept\), got 0/],
            [["prune", "x"], /--keep-last <N> is required/],
            [["prune", "x", "--keep-last", "2", "--keep-within", "30 days"], /--keep-within "30 days" is not a duration: use a whole number and m, h, d or w, e\.g\. 30d/],
            [["prune", "--keep-last", "2"], /prune takes one destination/],
        ] as Array<[string[], RegExp]>) {
            const run = await runSecretBackup(args);
            assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
            assert.match(run.stderr, pattern);
        }
    });

    describe("in Blob Storage (Azurite)", () => {
        let emulator: RunningEmulator;
        let azurite: RunningAzurite;
        before(async () => {
            [emulator, azurite] = await Promise.all([startTestEmulator(), startAzurite()]);
        });
        after(async () => {
            await Promise.all([emulator?.close(), azurite?.stop()]);
        });

        it("removes only blobs with this tool's metadata beyond the policy, and says what keeps deleted blobs", async () => {
            const containerUrl = `${azurite.accountUrl}/prune-${Date.now()}`;
            const container = new ContainerClient(containerUrl, credentialFor(emulator));
            await container.create();
            const destination = new BlobDestination(`${containerUrl}/team/`, credentialFor(emulator));
            const now = Date.now();
            const written: Array<{ location: string; key: string }> = [];
            let seed = 0;
            for (const name of OBJECTS.slice(0, 3)) {
                for (const age of AGES_DAYS.slice(0, 5)) {
                    const bytes = backupBytes(seed++);
                    written.push({ location: await destination.write(bytes, record(name, age, bytes, now)), key: `${name}@${age}` });
                }
            }
            // A blob with a backup's name uploaded by something else (no metadata), older than everything.
            const alien = backupBytes(60);
            const alienName = `team/${backupObjectName(record("api-key", 200, alien, now))}`;
            await container.getBlockBlobClient(alienName).upload(alien, alien.length);
            await container.getBlockBlobClient("team/readme.txt").upload("hello", 5);

            const service = new BlobServiceClient(azurite.accountUrl, credentialFor(emulator));
            await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 7 } });
            try {
                const plan = await runSecretBackup(["prune", `${containerUrl}/team/`, "--keep-last", "2", "--json"], emulatorEnv(emulator));
                assert.equal(plan.code, 0, plan.stderr);
                const planned = JSON.parse(plan.stdout);
                assert.equal(planned.remove.length, 9);
                assert.deepEqual(planned.retentionNotes, [
                    `account ${azurite.account} has blob soft delete on (7 days): removed backups stay recoverable, and billed, for that long.`,
                ]);
            } finally {
                await service.setProperties({ deleteRetentionPolicy: { enabled: false } });
            }

            const run = await runSecretBackup(["prune", `${containerUrl}/team/`, "--keep-last", "2", "--yes"], emulatorEnv(emulator));
            assert.equal(run.code, 0, run.stderr);
            assert.match(run.stdout, /9 removed, 0 failed, 6 kept/);
            assert.match(run.stdout, /left alone .*api-key.*: a blob without this tool's metadata \(not written by it\)/);
            const left = new Set<string>();
            for await (const b of container.listBlobsFlat({ prefix: "team/" })) left.add(b.name);
            const keptKeys = written.filter((w) => left.has(decodeURIComponent(new URL(w.location).pathname).split("/").slice(3).join("/"))).map((w) => w.key);
            assert.deepEqual(new Set(keptKeys), new Set(OBJECTS.slice(0, 3).flatMap((n) => AGES_DAYS.slice(0, 2).map((a) => `${n}@${a}`))));
            assert.ok(left.has(alienName) && left.has("team/readme.txt"), "foreign blobs left alone");
        });
    });
});
