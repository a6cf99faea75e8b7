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
        assert.match(first.stdout, /secret\s+this run\s+size\s+sha256\s+location/);
        for (const name of ["db-password", "api-key", "storage-connection"]) {
            assert.match(first.stdout, new RegExp(`${name}\\s+new backup\\s+\\d+ B\\s+[0-9a-f]{12}…\\s+\\./\\S+\\.kvbackup`));
        }
        for (const name of ["db-password", "api-key", "storage-connection"]) assert.match(first.stdout, new RegExp(`secret\\s+${name}\\s+restored\\s+backup of `));
        assert.match(first.stdout, /3 restored, 0 skipped, 0 failed of 3 from /);
        assert.match(first.stdout, /Restore check: restored all 3 secrets into a fresh vault; all 4 versions came back with the same ids and values/);

        const second = await run(process.execPath, [demo], { cwd: repoRoot, env });
        assert.match(second.stdout, /Nothing new to back up/);
        assert.equal((second.stdout.match(/unchanged/g) ?? []).length, 3);

        const rotated = await run(process.execPath, [demo, "--rotate", "api-key"], { cwd: repoRoot, env });
        assert.match(rotated.stdout, /api-key\s+new backup/);
        assert.match(rotated.stdout, /1 new backup\(s\), 2 unchanged/);
        // The newest backup of the rotated secret is the one restored: 2 versions of api-key now.
        assert.match(rotated.stdout, /all 5 versions came back with the same ids and values/);
        assert.deepEqual(processesMarked(mark), []);
    });

    it("keeps its state in a DEMO_DIR outside the repository: backups land there and the restore check passes", async () => {
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "demo-outside-"));
        try {
            const env = { ...process.env, DEMO_DIR: outside };
            const { stdout } = await run(process.execPath, [demo], { cwd: repoRoot, env });
            const backups = path.join(outside, "backups");
            for (const name of ["db-password", "api-key", "storage-connection"]) {
                assert.match(stdout, new RegExp(`${name}\\s+new backup\\s+\\d+ B\\s+[0-9a-f]{12}…\\s+file://${backups}/\\S+\\.kvbackup`));
            }
            assert.equal(fs.readdirSync(backups).filter((f) => f.endsWith(".kvbackup")).length, 3);
            assert.match(stdout, new RegExp(`Disaster drill: restoring the whole vault from ${backups} alone into a fresh vault`));
            assert.match(stdout, /Restore check: restored all 3 secrets into a fresh vault; all 4 versions came back with the same ids and values/);
        } finally {
            fs.rmSync(outside, { recursive: true, force: true });
        }
    });
});
