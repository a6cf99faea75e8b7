import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { repoRoot } from "../helpers/paths";
import { uniqueFolder } from "../helpers/program";

// `npm run demo` (after its build step) as a user runs it, twice, in a scratch DEMO_DIR.
const run = promisify(execFile);
const demo = path.join(repoRoot, "dist", "scripts", "demo.js");

/** What the demo vault holds: kind, name, and how its backup file name ends. */
const OBJECTS = [
    ["secret", "db-password", "_[0-9a-f]{12}\\.kvbackup"],
    ["secret", "api-key", "_[0-9a-f]{12}\\.kvbackup"],
    ["secret", "storage-connection", "_[0-9a-f]{12}\\.kvbackup"],
    ["key", "signing-key", "\\.key\\.kvbackup"],
    ["certificate", "tls-cert", "\\.certificate\\.kvbackup"],
] as const;

/** The restore check's line: every object restored, `versions` secret versions equal, the certificate and key proven by signing. */
const RESTORE_CHECK = (versions: number): RegExp => new RegExp(
    `Restore check: restored all 5 objects into a fresh vault; all ${versions} secret versions came back with the same ids and values; ` +
    `certificate "tls-cert" has the same thumbprint \\(x5t\\) and DER bytes, and its key signs \\(verified with the original certificate's public key\\); ` +
    `key "signing-key" signs and verifies with its original public part\\.`);

/** Processes (besides this one) whose environment carries `mark`: whatever the demo started. */
function processesMarked(mark: string): number[] {
    const found: number[] = [];
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number)) {
        if (pid === process.pid) continue;
        try {
            if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(mark)) found.push(pid);
        } catch {
            // gone, or not ours to read
        }
    }
    return found;
}

describe("npm run demo", function () {
    this.timeout(180_000);

    it("backs up the seeded vault, proves a backup by restoring it, exits 0; a second run backs up nothing new; no process is left", async () => {
        const mark = `DEMO_TEST_MARK=${randomBytes(6).toString("hex")}`;
        const env = { ...process.env, DEMO_DIR: uniqueFolder("demo"), [mark.split("=")[0]]: mark.split("=")[1] };
        const first = await run(process.execPath, [demo], { cwd: repoRoot, env });
        assert.match(first.stdout, /kind\s+name\s+this run\s+size\s+sha256\s+location/);
        for (const [kind, name, suffix] of OBJECTS) {
            assert.match(first.stdout, new RegExp(`${kind}\\s+${name}\\s+new backup\\s+\\d+ B\\s+[0-9a-f]{12}…\\s+\\./\\S+${suffix}`));
            assert.match(first.stdout, new RegExp(`${kind}\\s+${name}\\s+restored\\s+backup of `));
        }
        assert.match(first.stdout, /5 restored, 0 skipped, 0 failed of 5 from /);
        assert.match(first.stdout, RESTORE_CHECK(4));

        const second = await run(process.execPath, [demo], { cwd: repoRoot, env });
        assert.match(second.stdout, /Nothing new to back up/);
        assert.equal((second.stdout.match(/unchanged/g) ?? []).length, 5);

        const rotated = await run(process.execPath, [demo, "--rotate", "api-key"], { cwd: repoRoot, env });
        assert.match(rotated.stdout, /secret\s+api-key\s+new backup/);
        assert.match(rotated.stdout, /1 new backup\(s\), 4 unchanged/);
        // The newest backup of the rotated secret is the one restored: 2 versions of api-key now.
        assert.match(rotated.stdout, RESTORE_CHECK(5));
        assert.deepEqual(processesMarked(mark), []);
    });

    it("DEMO_DIR naming a file (even with --reset) fails with a message naming DEMO_DIR and what to do, not a raw ENOTDIR, and leaves the file alone", async () => {
        const folder = uniqueFolder("demo-file");
        fs.mkdirSync(folder, { recursive: true });
        const file = path.join(folder, "not-a-folder.txt");
        fs.writeFileSync(file, "keep me");
        for (const args of [[], ["--reset"]]) {
            const failed = await run(process.execPath, [demo, ...args], { cwd: repoRoot, env: { ...process.env, DEMO_DIR: file } }).then(
                () => assert.fail("the demo succeeded with DEMO_DIR naming a file"),
                (e: { code: number; stderr: string }) => e,
            );
            assert.equal(failed.code, 1);
            assert.equal(failed.stderr.trim(), `demo failed: DEMO_DIR=${file}: "${file}" is a file, not a folder; the demo keeps its vault, backups and stack there. ` +
                "Set DEMO_DIR to a folder (made if missing), or leave it unset to use .demo in the project.");
            assert.equal(fs.readFileSync(file, "utf8"), "keep me");
        }
    });

    it("keeps its state in a DEMO_DIR outside the repository: backups land there and the restore check passes", async () => {
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "demo-outside-"));
        try {
            const env = { ...process.env, DEMO_DIR: outside };
            const { stdout } = await run(process.execPath, [demo], { cwd: repoRoot, env });
            const backups = path.join(outside, "backups");
            for (const [kind, name, suffix] of OBJECTS) {
                assert.match(stdout, new RegExp(`${kind}\\s+${name}\\s+new backup\\s+\\d+ B\\s+[0-9a-f]{12}…\\s+file://${backups}/\\S+${suffix}`));
            }
            assert.equal(fs.readdirSync(backups).filter((f) => f.endsWith(".kvbackup")).length, 5);
            assert.match(stdout, new RegExp(`Disaster drill: restoring the whole vault from ${backups} alone into a fresh vault`));
            assert.match(stdout, RESTORE_CHECK(4));
        } finally {
            fs.rmSync(outside, { recursive: true, force: true });
        }
    });
});
