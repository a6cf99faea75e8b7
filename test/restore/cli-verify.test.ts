import { strict as assert } from "node:assert";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { scratchRoot } from "../helpers/paths";
import { exampleBackupBytes } from "./example-backup";
import { cliPath, runSecretBackup } from "./cli-process";
import { repoRoot } from "../helpers/paths";

describe("secret-backup (child process): help, usage errors and verify", () => {
    let dir: string;
    let good: string;
    const sha = createHash("sha256").update(exampleBackupBytes()).digest("hex");

    before(() => {
        dir = path.join(scratchRoot, `cli-verify-${randomUUID()}`);
        fs.mkdirSync(dir, { recursive: true });
        good = path.join(dir, "good.kvbackup");
        fs.writeFileSync(good, exampleBackupBytes());
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is the package's secret-backup bin, runnable directly (#!/usr/bin/env node)", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        assert.equal(path.join(repoRoot, pkg.bin["secret-backup"]), cliPath);
        assert.equal(fs.readFileSync(cliPath, "utf8").split("\n")[0], "#!/usr/bin/env node");
    });

    for (const args of [["--help"], ["help"], ["verify", "--help"], ["restore", "--help"], ["restore", "-h"], ["list", "--help"], ["prune", "-h"]]) {
        it(`"${args.join(" ")}" prints usage with the exit codes and exits 0`, async () => {
            const run = await runSecretBackup(args);
            assert.equal(run.code, 0, run.stderr);
            assert.match(run.stdout, /^Usage: secret-backup/);
            assert.match(run.stdout, /Exit codes: 0 .*, 1 .*, 2 usage error/);
            assert.equal(run.stderr, "");
        });
    }

    const usage: Array<[string[], RegExp]> = [
        [[], /a command is required/],
        [["backup"], /unknown command "backup"/],
        [["verify"], /verify takes one location, got 0/],
        [["verify", "a", "b"], /verify takes one location, got 2/],
        [["verify", "--shaa", sha, "x"], /Unknown option '--shaa'/],
        [["verify", "x.kvbackup", "--sha256", "1234"], /sha256 must be 64 hexadecimal characters/],
        [["verify", "s3://bucket/key"], /location s3:\/\/bucket\/key is neither a file path/],
        [["restore", "--vault", "https://myvault.vault.azure.net"], /--from <location> is required/],
        [["restore", "--from", "x.kvbackup"], /--vault <url> is required/],
        [["restore", "--from", "x", "--vault", "http://v.vault.azure.net"], /vaultUrl: "http:\/\/v\.vault\.azure\.net" must use https/],
        [["restore", "--from", "x", "--vault", "https://myvault.vault.azure.net", "--api-version", "2016-10-01"], /apiVersion: "2016-10-01" is not an API version .*use one of 7\.0, .*7\.4/],
        [["restore", "stray", "--from", "x", "--vault", "https://myvault.vault.azure.net"], /Unexpected argument 'stray'/],
    ];
    for (const [args, pattern] of usage) {
        it(`"secret-backup ${args.join(" ")}" is a usage error: exit 2 and says why`, async () => {
            const run = await runSecretBackup(args);
            assert.equal(run.code, 2, run.stderr);
            assert.match(run.stderr, pattern);
            assert.equal(run.stdout, "");
        });
    }

    it("verify of a sound backup with its hash exits 0 and prints location, size, hash and algorithms", async () => {
        const run = await runSecretBackup(["verify", good, "--sha256", sha]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(
            run.stdout,
            `verified ${pathToFileURL(good).href}: secret backup, ${exampleBackupBytes().length} bytes, sha256 ${sha}, RSA-OAEP/A128CBC-HS256\n`,
        );
    });

    it("verify --json prints one JSON object a script can parse", async () => {
        const run = await runSecretBackup(["verify", pathToFileURL(good).href, "--json"]);
        assert.equal(run.code, 0, run.stderr);
        const report = JSON.parse(run.stdout);
        assert.equal(report.sha256, sha);
        assert.equal(report.enc, "A128CBC-HS256");
    });

    it("verify exits 1 for a hash mismatch, a damaged file and a missing file", async () => {
        const damaged = path.join(dir, "damaged.kvbackup");
        fs.writeFileSync(damaged, exampleBackupBytes().subarray(0, 100));
        const cases: Array<[string[], RegExp]> = [
            [["verify", good, "--sha256", "0".repeat(64)], /hashes to [0-9a-f]{64}, not the expected 0{64}/],
            [["verify", damaged], /damaged\.kvbackup is not a usable Key Vault secret backup/],
            [["verify", path.join(dir, "gone.kvbackup")], /gone\.kvbackup does not exist/],
        ];
        for (const [args, pattern] of cases) {
            const run = await runSecretBackup(args);
            assert.equal(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
            assert.match(run.stderr, pattern);
        }
    });

    it("restore of a damaged backup exits 1 before contacting the vault", async () => {
        const damaged = path.join(dir, "damaged-restore.kvbackup");
        fs.writeFileSync(damaged, Buffer.from("not a backup at all"));
        // Port 9 on loopback: nothing listens; a request would fail with a network error, not this message.
        const run = await runSecretBackup(["restore", "--from", damaged, "--vault", "https://127.0.0.1:9"]);
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /not a usable Key Vault secret backup/);
        assert.doesNotMatch(run.stderr, /could not be reached/);
    });

    it("--json on a failure still prints one JSON error object on stdout, for scripts (verify exit 1, restore usage exit 2)", async () => {
        const gone = path.join(dir, "gone-json.kvbackup");
        const run = await runSecretBackup(["verify", gone, "--json"]);
        assert.equal(run.code, 1, run.stderr);
        assert.deepEqual(JSON.parse(run.stdout), {
            error: {
                command: "verify",
                exitCode: 1,
                name: "BackupVerificationError",
                message: `Backup ${pathToFileURL(gone).href} does not exist.`,
                reason: "missing",
                location: pathToFileURL(gone).href,
            },
        });
        assert.match(run.stderr, /gone-json\.kvbackup does not exist/, "stderr keeps the message for people");

        const usage = await runSecretBackup(["restore", "--from", "x", "--vault", "https://myvault.vault.azure.net", "--dry-run", "--json"]);
        assert.equal(usage.code, 2);
        const error = JSON.parse(usage.stdout).error;
        assert.equal(error.exitCode, 2);
        assert.equal(error.input, "dry-run");
        assert.equal(error.message, "--dry-run is for a whole destination: add --all or --name <pattern>");

        const folder = await runSecretBackup(["restore", "--from", dir, "--vault", "https://myvault.vault.azure.net"]);
        assert.equal(folder.code, 2);
        assert.match(folder.stderr, new RegExp(`--from ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is a folder: add --all to restore every object in it, or --name <pattern> for some`));
    });

    it("list, restore --all and prune refuse a container URL with a SAS query as a usage error without echoing the token", async () => {
        const url = "https://127.0.0.1:1/devstoreaccount1/backups?sv=2024&sig=SECRETSIGNATURE";
        for (const args of [["list", url, "--json"], ["restore", "--from", url, "--vault", "https://myvault.vault.azure.net", "--all"], ["prune", url, "--keep-last", "1"]]) {
            const run = await runSecretBackup(args);
            assert.equal(run.code, 2, `${args[0]}: ${run.stderr}`);
            assert.match(run.stdout + run.stderr, /is not a usable Blob Storage URL: the URL has a query string or fragment \(a SAS token\?\)/);
            assert.doesNotMatch(run.stdout + run.stderr, /SECRETSIGNATURE/);
        }
    });
});
