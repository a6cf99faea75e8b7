import { strict as assert } from "node:assert";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { verifyBackup, BackupVerificationError, BackupInputError } from "../../provider/verify";
import { scratchRoot } from "../helpers/paths";
import { exampleBackupBytes } from "./example-backup";

describe("verifyBackup on files", () => {
    let dir: string;
    let good: string;
    let goodSha: string;

    before(() => {
        dir = path.join(scratchRoot, `verify-${randomUUID()}`);
        fs.mkdirSync(dir, { recursive: true });
        good = path.join(dir, "example.kvbackup");
        fs.writeFileSync(good, exampleBackupBytes());
        goodSha = createHash("sha256").update(exampleBackupBytes()).digest("hex");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function failure(p: Promise<unknown>): Promise<BackupVerificationError> {
        try {
            await p;
        } catch (e) {
            if (e instanceof BackupVerificationError) return e;
            throw e;
        }
        assert.fail("verification passed");
    }

    it("reports hash, size and header for a plain path and its file:// URL alike", async () => {
        const byPath = await verifyBackup(good);
        const byUrl = await verifyBackup(pathToFileURL(good).href);
        assert.deepEqual(byPath, byUrl);
        assert.deepEqual(byPath, {
            location: pathToFileURL(good).href,
            sha256: goodSha,
            sizeBytes: exampleBackupBytes().length,
            alg: "RSA-OAEP",
            enc: "A128CBC-HS256",
            kid: "b576429f-2568-45be-bfaa-37ed07fc0c81",
            kind: "secret",
        });
    });

    it("resolves a relative path against the working directory", async () => {
        const rel = path.relative(process.cwd(), good);
        assert.equal((await verifyBackup(rel)).location, pathToFileURL(good).href);
    });

    it("accepts the expected hash in either case", async () => {
        assert.equal((await verifyBackup(good, { sha256: goodSha.toUpperCase() })).sha256, goodSha);
    });

    it("fails with hash-mismatch naming both hashes when one byte of the ciphertext changed", async () => {
        const flipped = Buffer.from(exampleBackupBytes());
        flipped[2000] = flipped[2000] === 0x41 ? 0x42 : 0x41; // still base64url: framing alone cannot tell
        const file = path.join(dir, "flipped.kvbackup");
        fs.writeFileSync(file, flipped);
        await verifyBackup(file); // framing is intact...
        const e = await failure(verifyBackup(file, { sha256: goodSha })); // ...the recorded hash is not
        assert.equal(e.reason, "hash-mismatch");
        assert.match(e.message, new RegExp(`not the expected ${goodSha}`));
        assert.match(e.message, /flipped\.kvbackup/);
    });

    it("fails with damaged for a truncated backup, naming the file and the cause", async () => {
        const file = path.join(dir, "truncated.kvbackup");
        fs.writeFileSync(file, exampleBackupBytes().subarray(0, 3000));
        const e = await failure(verifyBackup(file));
        assert.equal(e.reason, "damaged");
        assert.match(e.message, /truncated\.kvbackup is not a usable Key Vault secret backup: .*(truncated|damaged)/);
    });

    it("fails with missing for a file that does not exist", async () => {
        const e = await failure(verifyBackup(path.join(dir, "nope.kvbackup")));
        assert.equal(e.reason, "missing");
        assert.match(e.message, /nope\.kvbackup does not exist/);
    });

    it("fails with unreadable for a folder", async () => {
        const e = await failure(verifyBackup(dir));
        assert.equal(e.reason, "unreadable");
        assert.match(e.message, /is not a file/);
    });

    const badInputs: Array<[string, string, { sha256?: string }, string]> = [
        ["an empty location", "", {}, "location"],
        ["an s3:// location", "s3://bucket/x.kvbackup", {}, "location"],
        ["a file:// URL with a remote host", "file://otherhost/x.kvbackup", {}, "location"],
        ["a short sha256", "x.kvbackup", { sha256: "abc123" }, "sha256"],
        ["a sha256 with non-hex characters", "x.kvbackup", { sha256: "z".repeat(64) }, "sha256"],
    ];
    for (const [what, location, options, input] of badInputs) {
        it(`refuses ${what} as a BackupInputError naming ${input}, before reading anything`, async () => {
            await assert.rejects(verifyBackup(location, options), (e: unknown) => {
                assert.ok(e instanceof BackupInputError, String(e));
                assert.equal(e.input, input);
                assert.match(e.message, new RegExp(input));
                return true;
            });
        });
    }

    for (const location of ["ftp://backup-user:pw-7f3kq9@files.example/x.kvbackup", "file://backup-user:pw-7f3kq9@otherhost/x.kvbackup"]) {
        it(`refuses ${location.split(":")[0]}:// with a password in it without echoing the password`, async () => {
            await assert.rejects(verifyBackup(location), (e: unknown) => {
                assert.ok(e instanceof BackupInputError, String(e));
                assert.equal(e.input, "location");
                assert.doesNotMatch(e.message, /pw-7f3kq9/);
                return true;
            });
        });
    }
});
