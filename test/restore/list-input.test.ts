import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { uniqueFolder } from "../helpers/program";
import { runSecretBackup } from "./cli-process";

// `secret-backup list` given a file where the destination folder goes (issue 19, bug 7): a message
// naming the input and what to give instead, not the raw ENOTDIR of reading it as a folder.
describe("secret-backup list <a file>", function () {
    this.timeout(60_000);
    const folder = uniqueFolder("list-input");
    const file = path.join(folder, "127.0.0.1_1_api-key_20261201T010750707Z_09641a1b62b3.kvbackup");

    before(() => {
        fs.mkdirSync(folder, { recursive: true });
        fs.writeFileSync(file, "not a real backup");
    });

    it("a backup file given as the destination: exit 1, naming the file, saying it is a file and to give the folder", async () => {
        const run = await runSecretBackup(["list", file]);
        assert.equal(run.code, 1, run.stderr);
        assert.equal(run.stderr.trim(), `secret-backup list: ${file} is not a folder (it is a file): give the folder or container the backups were written to (a destination), not a backup file.`);
        assert.doesNotMatch(run.stderr, /ENOTDIR/);
    });

    it("a path below a file: the same, saying a part of it is a file", async () => {
        const run = await runSecretBackup(["list", path.join(file, "below")]);
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, new RegExp(`^secret-backup list: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/below is not a folder \\(a part of its path is a file\\)`));
        assert.doesNotMatch(run.stderr, /ENOTDIR/);
    });

    it("--json: the same message in the JSON error", async () => {
        const run = await runSecretBackup(["list", file, "--json"]);
        assert.equal(run.code, 1);
        const error = JSON.parse(run.stdout).error;
        assert.match(error.message, /is not a folder \(it is a file\)/);
        assert.doesNotMatch(run.stdout, /ENOTDIR/);
    });
});
