import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { parseBackupObjectName } from "../../provider/destinations/destination";
import { secretClientFor, startTestEmulator } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { runSecretBackup } from "./cli-process";
import { backupSecretTo, escapeRegExp, flipOneCiphertextByte } from "./recovery-helpers";
import { emulatorEnv } from "./vault-snapshot";

// Issue 19, bug 3: one rule for a file whose content does not match the hash in its own name.
// It is damaged, it is never sent to Key Vault, and verify, restore --from <file>, list --verify
// and restore --all say so with the same sentence.
describe("a backup whose content does not match the hash in its name (one byte changed)", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let folder: string;
    let location: string;
    let file: string;

    before(async () => {
        emulator = await startTestEmulator({ seed: { vaults: { "name-src": { secrets: { "api-key": "ak-value-31x" } }, "name-dst": {} } } });
        folder = uniqueFolder("name-hash");
        location = await backupSecretTo(secretClientFor(emulator, "name-src"), emulator.vaults["name-src"], "api-key", folder);
        file = path.join(folder, path.basename(new URL(location).pathname));
        flipOneCiphertextByte(file);
    });
    after(async () => {
        await emulator?.close();
        if (folder) fs.rmSync(folder, { recursive: true, force: true });
    });

    const restores = (): number => emulator.requests().filter((r) => r.vault === "name-dst" && r.operation === "restore").length;
    /** The sentence every command must print for this file. */
    const sentence = (): RegExp => {
        const prefix = parseBackupObjectName(path.basename(file))!.sha256Prefix;
        return new RegExp(`Backup ${escapeRegExp(location)} hashes to [0-9a-f]{64}, but its name says ${prefix}\\.\\.\\.: it changed since it was written, or it is another backup under this name\\.`);
    };

    it("verify <file> exits 1 with hash-mismatch (it passed and exited 0 before)", async () => {
        const run = await runSecretBackup(["verify", file]);
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.equal(run.stdout, "");
        assert.match(run.stderr, sentence());
        const json = await runSecretBackup(["verify", file, "--json"]);
        assert.equal(json.code, 1);
        assert.equal(JSON.parse(json.stdout).error.reason, "hash-mismatch");
    });

    it("restore --from <file> exits 1 and sends nothing to the vault", async () => {
        const run = await runSecretBackup(["restore", "--from", file, "--vault", emulator.vaults["name-dst"]], emulatorEnv(emulator));
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stderr, sentence());
        assert.doesNotMatch(run.stderr, /Malformed backup blob/);
        assert.equal(restores(), 0, "no Restore Secret call reached the vault");
        await assert.rejects(secretClientFor(emulator, "name-dst").getSecret("api-key"), (e: { statusCode?: number }) => e.statusCode === 404);
    });

    it("list --verify and restore --all report it with the same sentence; restore --all sends nothing for it", async () => {
        const list = await runSecretBackup(["list", folder, "--verify"]);
        assert.equal(list.code, 1, list.stdout + list.stderr);
        assert.match(list.stdout, /api-key +1 .* NO: 1 of 1 fail \(hash-mismatch\)/);
        assert.match(list.stdout, sentence());

        const all = await runSecretBackup(["restore", "--from", folder, "--vault", emulator.vaults["name-dst"], "--all"], emulatorEnv(emulator));
        assert.equal(all.code, 1, all.stdout + all.stderr);
        assert.match(all.stdout, sentence());
        assert.match(all.stdout, /0 restored, 0 skipped, 1 failed of 1/);
        assert.equal(restores(), 0);
    });
});
