import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import sinon from "sinon";
import { FileDestination, folderProblem } from "../../provider/destinations/file";
import { sha256Hex } from "../../provider/destinations/destination";
import { openDestination, destinationProblem } from "../../provider/destinations";
import type { BackupRecord } from "../../provider/destinations/destination";
import { scratchRoot } from "../helpers/paths";

function record(blob: Uint8Array, at = new Date().toISOString()): BackupRecord {
    return { vaultUrl: "https://127.0.0.1:41234", secretName: "db-password", backedUpAt: at, sha256: sha256Hex(blob), sizeBytes: blob.length };
}

describe("file destination", () => {
    let root: string;
    beforeEach(() => {
        root = path.join(scratchRoot, `file-dest-${Date.now()}-${randomBytes(4).toString("hex")}`);
    });
    afterEach(() => {
        sinon.restore();
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("writes a new 0600 file in a new 0700 folder and returns its file:// URL; reads and verifies it", async () => {
        const folder = path.join(root, "a", "backups");
        const blob = randomBytes(3000);
        const dest = new FileDestination(folder);
        const location = await dest.write(blob, record(blob));
        const file = fileURLToPath(location);
        assert.equal(path.dirname(file), folder);
        assert.match(path.basename(file), /^127\.0\.0\.1_41234_db-password_\d{8}T\d{9}Z_[0-9a-f]{12}\.kvbackup$/);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.equal(fs.statSync(folder).mode & 0o777, 0o700);
        assert.deepEqual(Buffer.from(await dest.read(location)), blob);
        assert.equal(await dest.verify(location, sha256Hex(blob)), "ok");
        assert.deepEqual(fs.readdirSync(folder), [path.basename(file)], "no temporary file left");
    });

    it("accepts a file:// URL and a relative path (resolved against the working directory)", async () => {
        const blob = randomBytes(10);
        const viaUrl = await new FileDestination(`file://${root}/u`).write(blob, record(blob));
        assert.equal(path.dirname(fileURLToPath(viaUrl)), path.join(root, "u"));
        const relative = path.relative(process.cwd(), path.join(root, "r"));
        const viaRelative = await openDestination(relative).write(blob, record(blob));
        assert.equal(path.dirname(fileURLToPath(viaRelative)), path.join(root, "r"));
    });

    it("never overwrites: a second backup with the same name fails and the first stays intact", async () => {
        const first = randomBytes(64);
        const at = new Date().toISOString();
        const dest = new FileDestination(root);
        const location = await dest.write(first, record(first, at));
        await assert.rejects(dest.write(first, record(first, at)), /EEXIST/);
        assert.equal(await dest.verify(location, sha256Hex(first)), "ok");
        assert.equal(fs.readdirSync(root).length, 1);
    });

    it("two backups of the same secret get two files", async () => {
        const dest = new FileDestination(root);
        const a = randomBytes(64), b = randomBytes(64);
        const la = await dest.write(a, record(a));
        const lb = await dest.write(b, record(b));
        assert.notEqual(la, lb);
        assert.equal(fs.readdirSync(root).length, 2);
    });

    it("64 concurrent writes into one new folder all land, each verified (they share the folder's one sweep and its fsyncs)", async () => {
        const dest = new FileDestination(root);
        const blobs = Array.from({ length: 64 }, () => randomBytes(100));
        const locations = await Promise.all(blobs.map((b) => dest.write(b, record(b))));
        assert.equal(new Set(locations).size, 64);
        for (const [i, location] of locations.entries()) assert.equal(await dest.verify(location, sha256Hex(blobs[i])), "ok");
        assert.equal(fs.readdirSync(root).length, 64, "no temporary file left");
    });

    it("verify says missing for a deleted file and changed for an altered one", async () => {
        const dest = new FileDestination(root);
        const blob = randomBytes(64);
        const location = await dest.write(blob, record(blob));
        fs.chmodSync(fileURLToPath(location), 0o600);
        fs.appendFileSync(fileURLToPath(location), "x");
        assert.equal(await dest.verify(location, sha256Hex(blob)), "changed");
        fs.rmSync(fileURLToPath(location));
        assert.equal(await dest.verify(location, sha256Hex(blob)), "missing");
    });

    it("verify throws for a location it cannot read (a folder in its place: EISDIR; no permission: EACCES), never 'missing'", async () => {
        const dest = new FileDestination(root);
        const blob = randomBytes(64);
        const location = await dest.write(blob, record(blob));
        const file = fileURLToPath(location);
        fs.rmSync(file);
        fs.mkdirSync(file);
        await assert.rejects(dest.verify(location, sha256Hex(blob)), { code: "EISDIR" });
        fs.rmdirSync(file);
        fs.writeFileSync(file, blob, { mode: 0o600 });
        // Root reads any file whatever its mode, so the refusal comes from a stub (a disk error in all but name).
        const readFile = fs.promises.readFile.bind(fs.promises);
        sinon.stub(fs.promises, "readFile").callsFake(async (p, o) => {
            if (String(p) === file) throw Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: "EACCES" });
            return readFile(p, o);
        });
        await assert.rejects(dest.verify(location, sha256Hex(blob)), { code: "EACCES" });
        sinon.restore();
        assert.equal(await dest.verify(location, sha256Hex(blob)), "ok");
    });

    for (const [step, stub] of [
        ["the write (disk full)", (proto: object) => sinon.stub(proto as { writeFile: () => Promise<void> }, "writeFile").rejects(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }))],
        ["the fsync", (proto: object) => sinon.stub(proto as { sync: () => Promise<void> }, "sync").rejects(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" }))],
        ["the link into place", () => sinon.stub(fs.promises, "link").rejects(Object.assign(new Error("EIO: i/o error, link"), { code: "EIO" }))],
        ["the copy that replaces a link where links are not supported (disk full)", () => {
            sinon.stub(fs.promises, "link").rejects(Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" }));
            const copy = fs.promises.copyFile.bind(fs.promises);
            // A real partial copy: the target file is made, then the disk fills up.
            sinon.stub(fs.promises, "copyFile").callsFake(async (from, to, mode) => {
                await copy(from, to, mode);
                fs.truncateSync(to as string, 10);
                throw Object.assign(new Error("ENOSPC: no space left on device, copyfile"), { code: "ENOSPC" });
            });
        }],
        ["the mode change after that copy", () => {
            sinon.stub(fs.promises, "link").rejects(Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" }));
            sinon.stub(fs.promises, "chmod").rejects(Object.assign(new Error("EIO: i/o error, chmod"), { code: "EIO" }));
        }],
    ] as const) {
        it(`a failure in ${step} fails the write and leaves nothing behind`, async () => {
            fs.mkdirSync(root, { recursive: true });
            const probe = await fs.promises.open(path.join(root, ".probe"), "w");
            const proto = Object.getPrototypeOf(probe) as object;
            await probe.close();
            fs.rmSync(path.join(root, ".probe"));
            stub(proto);
            const blob = randomBytes(64);
            await assert.rejects(new FileDestination(root).write(blob, record(blob)), /ENOSPC|EIO/);
            sinon.restore();
            assert.deepEqual(fs.readdirSync(root), []);
        });
    }

    it("a read-back that does not match the hash removes the file and fails", async () => {
        const blob = randomBytes(64);
        const wrong = { ...record(blob), sha256: sha256Hex(Buffer.from("other")) };
        await assert.rejects(new FileDestination(root).write(blob, wrong), /hashes to/);
        assert.deepEqual(fs.readdirSync(root), []);
    });

    it("folderProblem: a writable or creatable folder is fine; a file in place of the folder or of a parent is not", async () => {
        fs.mkdirSync(root, { recursive: true });
        assert.equal(await folderProblem(root), undefined);
        assert.equal(await folderProblem(path.join(root, "not", "yet")), undefined);
        fs.writeFileSync(path.join(root, "f"), "x");
        assert.match((await folderProblem(path.join(root, "f"))) ?? "", /exists and is not a folder/);
        assert.match((await folderProblem(path.join(root, "f", "below"))) ?? "", new RegExp(`"${path.join(root, "f")}" exists and is not a folder`));
        assert.match((await folderProblem(path.join(root, "f", "below", "deeper"))) ?? "", /exists and is not a folder/);
    });

    it("folderProblem: an unwritable parent folder is refused, naming it (as root too)", async () => {
        const readonly = path.join(root, "ro");
        fs.mkdirSync(readonly, { recursive: true, mode: 0o500 });
        // Modes do not bind root; a refused access is what the rule reacts to, so as root it is stubbed.
        if (process.getuid?.() === 0) {
            const access = fs.promises.access.bind(fs.promises);
            sinon.stub(fs.promises, "access").callsFake(async (p, m) => {
                if (String(p) === readonly) throw Object.assign(new Error(`EACCES: permission denied, access '${readonly}'`), { code: "EACCES" });
                return access(p, m);
            });
        }
        assert.equal(await folderProblem(path.join(readonly, "x")), `the folder "${readonly}" is not writable by this user`);
        assert.equal(await folderProblem(root), undefined, "its writable parent is fine");
        fs.chmodSync(readonly, 0o700);
    });

    it("folderProblem: a folder on a read-only file system is refused as such, not as unwritable by this user (root too)", async () => {
        const mounted = path.join(root, "ro-mount");
        fs.mkdirSync(mounted, { recursive: true });
        // A read-only mount needs privileges this machine may not give; the kernel's answer to the access check on one is EROFS.
        const access = fs.promises.access.bind(fs.promises);
        sinon.stub(fs.promises, "access").callsFake(async (p, m) => {
            if (String(p) === mounted) throw Object.assign(new Error(`EROFS: read-only file system, access '${mounted}'`), { code: "EROFS" });
            return access(p, m);
        });
        const reason = await folderProblem(path.join(mounted, "backups"));
        assert.equal(reason, `the folder "${mounted}" is on a read-only file system (EROFS); choose a folder on a writable disk, or mount this one read-write`);
        assert.doesNotMatch(reason ?? "", /not writable by this user/);
    });

    it("folderProblem: a file:// URL carrying a password is refused without echoing the password", async () => {
        const reason = await folderProblem("file://backup-user:pw-7f3kq9@otherhost/backups");
        assert.match(reason ?? "", /is not a usable path/);
        assert.doesNotMatch(reason ?? "", /pw-7f3kq9/);
    });

    // A temporary file as a killed writer leaves it, its times set `ageMs` into the past.
    function leftTemporaryFile(folder: string, ageMs: number): string {
        const name = `.127.0.0.1_41234_old_20260101T000000000Z_${randomBytes(6).toString("hex")}.kvbackup.${randomBytes(6).toString("hex")}.tmp`;
        fs.writeFileSync(path.join(folder, name), "half a backup");
        const at = new Date(Date.now() - ageMs);
        fs.utimesSync(path.join(folder, name), at, at);
        return name;
    }

    it("the stale-file sweep removes a temporary file over 10 minutes old and leaves one under 10 minutes (another writer's, still busy)", async () => {
        fs.mkdirSync(root, { recursive: true });
        const busy = leftTemporaryFile(root, 9 * 60_000);
        const stale = leftTemporaryFile(root, 11 * 60_000);
        const blob = randomBytes(64);
        const location = await new FileDestination(root).write(blob, record(blob));
        assert.deepEqual(fs.readdirSync(root).sort(), [busy, path.basename(fileURLToPath(location))].sort());
    });

    it("sweeps a folder once per process, not per write: a stale file that appears later waits for the next process", async () => {
        const dest = new FileDestination(root);
        const first = randomBytes(64);
        await dest.write(first, record(first));
        const stale = leftTemporaryFile(root, 11 * 60_000);
        const second = randomBytes(64);
        await new FileDestination(root).write(second, record(second));
        assert.ok(fs.readdirSync(root).includes(stale), "the folder is not listed again for the second write");
    });

    it("a folder that never answers fails the write after the timeout, naming the folder; the late step then leaves nothing behind", async () => {
        fs.mkdirSync(root, { recursive: true });
        const folder = path.join(root, "hung");
        let answer: () => void = () => undefined;
        const mkdir = fs.promises.mkdir.bind(fs.promises);
        sinon.stub(fs.promises, "mkdir").callsFake((dir) => new Promise((resolve, reject) => {
            answer = () => void mkdir(dir, 0o700).then(() => resolve(undefined), reject);
        }));
        const blob = randomBytes(64);
        const started = Date.now();
        await assert.rejects(new FileDestination(folder, { timeoutMs: 300 }).write(blob, record(blob)), (e: Error) => {
            assert.match(e.message, /did not finish the write within 0\.3 s/);
            assert.ok(e.message.includes(folder), e.message);
            return true;
        });
        assert.ok(Date.now() - started < 5000, "failed at the timeout, not later");
        answer();
        const deadline = Date.now() + 5000;
        while (!fs.existsSync(folder) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.ok(fs.existsSync(folder), "the late mkdir finished");
        sinon.restore();
        assert.deepEqual(fs.readdirSync(folder), [], "no file written after the write was abandoned");
    });

    it("a destination under /proc fails the write at once instead of hanging (fs.mkdir recursive would never return there)", async function () {
        if (process.platform !== "linux") this.skip();
        const blob = randomBytes(64);
        await assert.rejects(new FileDestination(`/proc/backups-${randomBytes(4).toString("hex")}/x`, { timeoutMs: 10_000 }).write(blob, record(blob)), /ENOENT/);
    });

    it("folderProblem refuses a pseudo file system (/proc, /sys) by name, at check", async function () {
        if (process.platform !== "linux") this.skip();
        const proc = await folderProblem(`/proc/backups-${randomBytes(4).toString("hex")}`);
        assert.match(proc ?? "", /"\/proc" is on procfs \(\/proc\), a pseudo file system that cannot hold backup files/);
        assert.match((await folderProblem("/sys/kernel/backups")) ?? "", /sysfs/);
    });

    it("destinationProblem: Blob Storage URLs are checked by the blob URL rules (container required, no SAS query)", async () => {
        assert.equal(await destinationProblem("https://acct.blob.core.windows.net/backups/prefix"), undefined);
        assert.match((await destinationProblem("https://acct.blob.core.windows.net/")) ?? "", /names no container/);
        assert.match((await destinationProblem("https://acct.blob.core.windows.net/c?sv=x&sig=y")) ?? "", /query string or fragment/);
    });
});
