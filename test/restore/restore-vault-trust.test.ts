import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import type { RunningEmulator } from "../../emulator";
import { FileDestination } from "../../provider/destinations/file";
import { sha256Hex } from "../../provider/destinations/destination";
import { restoreVault } from "../../index";
import { credentialFor, keyClientFor, secretClientFor, startTestEmulator } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { cliPath, runSecretBackup, type CliRun } from "./cli-process";
import { backupSecretTo } from "./recovery-helpers";
import { emulatorEnv, snapshotSecret, type VersionSnapshot } from "./vault-snapshot";

// Issue 19: a whole-vault restore says "everything is in the vault" only when it is, stops at once
// when the vault cannot be reached, prints its summary when interrupted, and restores the newest
// of several backups of an object.
const DAY = 86_400_000;
const SOURCE = "trust-src";

describe("restore --all: every 'done' is true", function () {
    this.timeout(180_000);
    let emulator: RunningEmulator;
    let folder: string;
    const names = ["alpha", "bravo", "charlie", "delta", "echo"];

    before(async () => {
        emulator = await startTestEmulator({
            seed: {
                vaults: {
                    [SOURCE]: { secrets: Object.fromEntries(names.map((n) => [n, `${n}-value-7q`])), keys: { "signing-key": { kty: "EC", crv: "P-256" } } },
                    "trust-soft": {},
                    "trust-soft-fail": {},
                    "trust-sigint": {},
                    "trust-newest": {},
                    "trust-disabled": { secrets: { "in-use": "iu-value-5w", "legacy-token": { value: "lt-value-5w", enabled: false }, "brand-new": "bn-value-5w" } },
                },
            },
        });
        folder = uniqueFolder("trust");
        const client = secretClientFor(emulator, SOURCE);
        for (const n of names) await backupSecretTo(client, emulator.vaults[SOURCE], n, folder);
        const keyBlob = (await keyClientFor(emulator, SOURCE).backupKey("signing-key"))!;
        await new FileDestination(folder).write(keyBlob, {
            vaultUrl: emulator.vaults[SOURCE], secretName: "signing-key", kind: "key", backedUpAt: new Date().toISOString(), sha256: sha256Hex(keyBlob), sizeBytes: keyBlob.length,
        });
    });
    after(async () => {
        await emulator?.close();
        if (folder) fs.rmSync(folder, { recursive: true, force: true });
    });

    /** Makes `name` in `vault` and deletes it: soft-deleted, its name held. */
    async function softDelete(vault: string, name: string): Promise<void> {
        const client = secretClientFor(emulator, vault);
        await client.setSecret(name, "unrelated-value-3z");
        await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
    }

    describe("into a vault where a name is soft-deleted (bug 2)", () => {
        it("--on-conflict skip (default): not complete, exit 1, says to recover or purge; done as advised, the next run is complete", async () => {
            const vault = emulator.vaults["trust-soft"];
            await softDelete("trust-soft", "bravo");
            await secretClientFor(emulator, "trust-soft").setSecret("alpha", "already-there-4k"); // active: skipped, still complete

            const run = await runSecretBackup(["restore", "--from", folder, "--vault", vault, "--all"], emulatorEnv(emulator));
            assert.equal(run.code, 1, run.stdout + run.stderr);
            assert.match(run.stdout, /secret +bravo +skipped +a secret of this name is soft-deleted in the vault; restore never overwrites/);
            assert.match(run.stdout, /secret +alpha +skipped +a secret of this name exists in the vault/);
            assert.match(
                run.stdout,
                /skipped secret bravo: a secret of this name is soft-deleted in the vault; restore never overwrites\.\n {2}What to do: the secret is not usable until you act: recover the deleted one if it is what you want \(az keyvault secret recover\), or purge it \(az keyvault secret purge\) and run the restore again to bring back the backup/,
            );
            assert.match(run.stdout, /4 restored, 2 skipped, 0 failed of 6 /);
            assert.match(run.stdout, /Not everything asked for is in the vault and usable: 1 skipped because a soft-deleted object holds the name \(not usable until recovered or purged\) \(exit code 1\)\./);
            assert.doesNotMatch(run.stdout, /Everything asked for is in the vault\./);
            assert.doesNotMatch(run.stdout + run.stderr, /-value-7q|already-there|unrelated-value/, "no secret value printed");
            await assert.rejects(secretClientFor(emulator, "trust-soft").getSecret("bravo"), (e: { statusCode?: number }) => e.statusCode === 404);

            const json = await runSecretBackup(["restore", "--from", folder, "--vault", vault, "--all", "--json"], emulatorEnv(emulator));
            assert.equal(json.code, 1);
            const result = JSON.parse(json.stdout);
            assert.equal(result.complete, false);
            assert.deepEqual(result.objects.find((o: { name: string }) => o.name === "bravo").conflict, "soft-deleted");

            // As advised: purge it, run again. Now everything is in the vault, and the run says so (README step 4).
            await secretClientFor(emulator, "trust-soft").purgeDeletedSecret("bravo");
            const again = await runSecretBackup(["restore", "--from", folder, "--vault", vault, "--all"], emulatorEnv(emulator));
            assert.equal(again.code, 0, again.stdout + again.stderr);
            assert.match(again.stdout, /1 restored, 5 skipped, 0 failed of 6 /);
            assert.match(again.stdout, /Everything asked for is in the vault\./);
            assert.equal((await secretClientFor(emulator, "trust-soft").getSecret("bravo")).value, "bravo-value-7q");
            const last = await runSecretBackup(["restore", "--from", folder, "--vault", vault, "--all"], emulatorEnv(emulator));
            assert.equal(last.code, 0, last.stdout);
            assert.match(last.stdout, /0 restored, 6 skipped, 0 failed of 6 [^\n]*\nEverything asked for is in the vault\./);
        });

        it("restoreVault with onConflict skip and fail: complete is false under both; fail reports it as failed with what to do", async () => {
            await softDelete("trust-soft-fail", "charlie");
            const args = { from: folder, vaultUrl: emulator.vaults["trust-soft-fail"], names: ["charlie", "delta"], credential: credentialFor(emulator), dryRun: true };
            const skip = await restoreVault({ ...args, onConflict: "skip" });
            assert.equal(skip.complete, false);
            assert.deepEqual(skip.objects.map((o) => [o.name, o.outcome, o.conflict]), [["charlie", "skipped", "soft-deleted"], ["delta", "planned", undefined]]);

            const fail = await restoreVault({ ...args, dryRun: false, onConflict: "fail" });
            assert.equal(fail.complete, false);
            const charlie = fail.objects.find((o) => o.name === "charlie")!;
            assert.equal(charlie.outcome, "failed");
            assert.equal(charlie.why, "a secret of this name is soft-deleted in the vault; restore never overwrites");
            assert.match(charlie.whatToDo!, /recover the deleted one if it is what you want \(az keyvault secret recover\), or purge it \(az keyvault secret purge\)/);
            assert.equal(fail.objects.find((o) => o.name === "delta")!.outcome, "restored");
            assert.equal(emulator.requests().filter((r) => r.vault === "trust-soft-fail" && r.operation === "restore").length, 1, "nothing sent for the soft-deleted name");
        });
    });

    it("an unreachable vault (ECONNREFUSED) stops the run at once with network advice, no permission advice (bug 4)", async () => {
        const started = Date.now();
        const run = await runSecretBackup(["restore", "--from", folder, "--vault", "https://127.0.0.1:1", "--all"], emulatorEnv(emulator));
        const seconds = (Date.now() - started) / 1000;
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.equal(run.stdout, "", "no per-object table");
        assert.match(run.stderr, /Could not list the (secrets|keys) of https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)[^\n]*\. Stopped before restoring anything: every object would fail the same way\.\nWhat to do: the vault could not be reached: check the vault URL, DNS, proxy and firewall, then run the restore again\./);
        assert.equal(run.stderr.match(/What to do/g)?.length, 1, "said once, not per object");
        assert.doesNotMatch(run.stdout + run.stderr, /Grant the|permission/);
        assert.ok(seconds < 15, `stopped at once (${seconds.toFixed(1)} s)`);
    });

    it("Ctrl-C (SIGINT) prints the summary (restored, skipped, not yet attempted) and exits 130; the next run restores the rest (bug 8)", async () => {
        const vault = emulator.vaults["trust-sigint"];
        const restoredOk = () => emulator.requests().filter((r) => r.vault === "trust-sigint" && /restore$/.test(r.operation) && r.status === 200).length;
        // One restore per second, so the run is still going when interrupted.
        const child = spawn(process.execPath, [cliPath, "restore", "--from", folder, "--vault", vault, "--all", "--restores-per-10-seconds", "10"], {
            env: { ...process.env, ...emulatorEnv(emulator) },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => void (stdout += d));
        child.stderr.on("data", (d) => void (stderr += d));
        const exited = new Promise<CliRun>((resolve) => child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? -1 : 1), stdout, stderr })));
        const deadline = Date.now() + 30_000;
        while (restoredOk() < 2) {
            assert.ok(Date.now() < deadline, `two restores within 30 s: ${stderr}`);
            await new Promise((r) => setTimeout(r, 50));
        }
        child.kill("SIGINT");
        const run = await exited;
        assert.equal(run.code, 130, run.stdout + run.stderr);
        const m = /(\d) restored, 0 skipped, 0 failed, (\d) not yet attempted of 6 from /.exec(run.stdout);
        assert.ok(m, run.stdout);
        const [restored, notAttempted] = [Number(m[1]), Number(m[2])];
        assert.ok(restored >= 2 && notAttempted >= 1 && restored + notAttempted === 6, run.stdout);
        assert.equal(run.stdout.split("\n").filter((l) => /\snot attempted\s+backup of .*not sent \(interrupted\)$/.test(l)).length, notAttempted);
        assert.match(run.stdout, /Interrupted \(exit code 130\): \d not yet attempted\. Run the same command again to restore the rest; what is in the vault now is skipped\./);
        assert.match(run.stderr, /interrupted: waiting for the restores already sent/);
        assert.equal(restoredOk(), restored, "what it says was restored is what the vault got");

        const again = await runSecretBackup(["restore", "--from", folder, "--vault", vault, "--all"], emulatorEnv(emulator));
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.match(again.stdout, new RegExp(`${notAttempted} restored, ${restored} skipped, 0 failed of 6 `));
    });

    it("list --check-vault counts the vault's objects with no backup, disabled ones apart (bug 10)", async () => {
        const own = uniqueFolder("trust-disabled");
        const vault = emulator.vaults["trust-disabled"];
        // As VaultBackup does by default: the disabled secret is skipped; "brand-new" came after the backup.
        await backupSecretTo(secretClientFor(emulator, "trust-disabled"), vault, "in-use", own);
        const run = await runSecretBackup(["list", own, "--check-vault", vault], emulatorEnv(emulator));
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /1 objects, 1 backups in /);
        assert.match(run.stdout, new RegExp(`vault ${vault.replace(/[.]/g, "\\.")}: 3 objects, 2 with no backup here, 1 of them disabled; a vault restored from here will not have them\.`));
        assert.match(run.stdout, /\n {2}disabled \(VaultBackup skips them unless includeDisabled: true\): secret legacy-token\n/);
        assert.match(run.stdout, /\n {2}not backed up \(new since the last backup, or left out by include\/exclude\/kinds\): secret brand-new\n/);
        assert.doesNotMatch(run.stdout, /-value-5w/);
        const json = JSON.parse((await runSecretBackup(["list", own, "--check-vault", vault, "--json"], emulatorEnv(emulator))).stdout);
        assert.equal(json.vaultCheck.disabled, 1);
        fs.rmSync(own, { recursive: true, force: true });
    });

    it("restores the newest of several backups of an object, whatever order they were written or named in", async () => {
        const own = uniqueFolder("trust-newest");
        const client = secretClientFor(emulator, SOURCE);
        const now = Date.now();
        const states: VersionSnapshot[][] = [];
        // Three backups of "rotating": 1, 2 and 3 versions. The newest (3 versions) is written first.
        await client.setSecret("rotating", "rot-1-x");
        const one = (await client.backupSecret("rotating"))!;
        states.push(await snapshotSecret(client, "rotating"));
        await client.setSecret("rotating", "rot-2-x");
        const two = (await client.backupSecret("rotating"))!;
        states.push(await snapshotSecret(client, "rotating"));
        await client.setSecret("rotating", "rot-3-x");
        const three = (await client.backupSecret("rotating"))!;
        states.push(await snapshotSecret(client, "rotating"));
        const write = (blob: Uint8Array, daysAgo: number) =>
            new FileDestination(own).write(blob, { vaultUrl: emulator.vaults[SOURCE], secretName: "rotating", backedUpAt: new Date(now - daysAgo * DAY).toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length });
        await write(three, 1);
        await write(one, 3);
        await write(two, 2);
        const result = await restoreVault({ from: own, vaultUrl: emulator.vaults["trust-newest"], names: ["rotating"], credential: credentialFor(emulator) });
        assert.equal(result.complete, true, JSON.stringify(result.objects));
        assert.equal(result.objects[0].backedUpAt, new Date(now - DAY).toISOString());
        assert.deepEqual(await snapshotSecret(secretClientFor(emulator, "trust-newest"), "rotating"), states[2], "the vault holds the newest backup's three versions");
        fs.rmSync(own, { recursive: true, force: true });
    });
});
