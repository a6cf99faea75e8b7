import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { secretClientFor, startTestEmulator } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts } from "../helpers/pulumi-cli";
import { installPythonSdk, noPythonReason, pluginCredentialConfig, pluginProviders } from "../helpers/plugin";

/** The recorded 404 for a missing secret (../shared/reference/keyvault-behaviour.md, SecretNotFound). */
const SECRET_NOT_FOUND = (name: string) =>
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`;

const PYTHON_EXAMPLE = path.join(repoRoot, "examples", "python");

describe(`examples/python: a Python program through the real CLI and the provider plugin${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;
    let stack: CliStack;
    let folder: string;
    const values = ["py-db-value-51c2", "py-api-value-7e0a", "py-api-rotated-c93d"];

    before(async function () {
        cli = requireCli(this);
        const why = noPythonReason(cli);
        if (why) throw new Error(`Python programs cannot run: ${why}`);
        const env = installPythonSdk(cli);
        emulator = await startTestEmulator({
            seed: { vaults: { pyvault: { secrets: { "db-password": values[0], "api-key": values[1] }, keys: { "signing-key": { kty: "RSA" } }, certificates: { "tls-cert": {} } } } },
        });
        stack = new CliStack(cli, { name: "kvb-python", program: PYTHON_EXAMPLE, runtime: { name: "python" }, providers: pluginProviders }, { ...emulatorEnv(emulator), ...env });
        folder = path.join(stack.work, "backups");
        await stack.init({ ...pluginCredentialConfig(emulator), vaultUrl: emulator.vaults.pyvault, secretName: "db-password", destination: folder });
    });
    after(async () => emulator?.close());

    const files = (): string[] => (fs.existsSync(folder) ? fs.readdirSync(folder).sort() : []);

    it("preview plans the component, one backup per object and the single secret, and writes nothing", async () => {
        const r = await stack.run(["preview", "--stack", stack.stack]);
        assert.match(r.stdout, /\+\s+keyvault-backup:index:VaultBackup\s+vault\s+create/);
        assert.match(r.stdout, /\+\s+keyvault-backup:index:SecretBackup\s+app-secret\s+create/);
        for (const child of ["vault/db-password", "vault/api-key", "vault/keys/signing-key", "vault/certificates/tls-cert"]) {
            assert.match(r.stdout, new RegExp(`\\+\\s+keyvault-backup:index:\\w+Backup\\s+${child}\\s+create`), child);
        }
        assert.deepEqual(summaryCounts(r.stdout), { "to create": 7 });
        assert.deepEqual(files(), []);
    });

    it("up backs up every object and the single secret; the outputs name each file with its hash", async () => {
        const r = await stack.up();
        assert.deepEqual(summaryCounts(r.stdout), { created: 7 });
        assert.equal(files().length, 5);
        const out = await stack.outputs();
        assert.deepEqual(out.secretNames, ["api-key", "db-password"]);
        const objects = out.objects as Record<string, Record<string, { location: string; sha256: string }>>;
        assert.deepEqual(Object.keys(objects.key), ["signing-key"]);
        assert.deepEqual(Object.keys(objects.certificate), ["tls-cert"]);
        const app = out.appSecret as { location: string; sha256: string; sizeBytes: number };
        const bytes = fs.readFileSync(new URL(app.location));
        assert.equal(app.sha256, createHash("sha256").update(bytes).digest("hex"));
        assert.equal(app.sizeBytes, bytes.length);
    });

    it("a second up changes nothing and takes no backup", async () => {
        const r = await stack.up(["--expect-no-changes"]);
        assert.deepEqual(summaryCounts(r.stdout), { unchanged: 7 });
        assert.equal(files().length, 5);
    });

    it("a rotated secret takes exactly one new backup on the next up", async () => {
        await secretClientFor(emulator, "pyvault").setSecret("api-key", values[2]);
        const r = await stack.up();
        assert.deepEqual(summaryCounts(r.stdout), { updated: 1, unchanged: 6 });
        assert.match(r.stdout, /~\s+keyvault-backup:index:SecretBackup\s+vault\/api-key\s+updated/);
        assert.equal(files().length, 6);
        const again = await stack.up(["--expect-no-changes"]);
        assert.deepEqual(summaryCounts(again.stdout), { unchanged: 7 }, "the rotation is backed up once");
    });

    it("refresh after the single secret's file was deleted says so, and the next up takes it again", async () => {
        const app = (await stack.outputs()).appSecret as { location: string };
        fs.rmSync(new URL(app.location));
        const r = await stack.run(["refresh", "--yes", "--skip-preview", "--stack", stack.stack]);
        assert.ok(r.stdout.includes(`backup of secret "db-password" at ${app.location} is missing; the next update takes a fresh backup`), r.stdout);
        const u = await stack.up();
        assert.deepEqual(summaryCounts(u.stdout), { updated: 1, unchanged: 6 });
        assert.equal(files().length, 6);
    });

    it("state, config and outputs hold no secret value; the client secret is encrypted", async () => {
        const exported = await stack.exportText();
        const config = stack.configFileText();
        for (const text of [exported, config, JSON.stringify(await stack.outputs())]) {
            for (const secret of [...values, emulator.principals[0].clientSecret]) assert.equal(text.includes(secret), false, "no secret value in plaintext");
        }
        assert.match(config, /keyvault-backup:clientSecret:\s*\n\s*secure: v1:/);
    });

    it("a vault error fails up with Key Vault's message and what to do", async () => {
        await stack.set("secretName", "missing-secret");
        const r = await stack.up([], { allowFailure: true });
        assert.notEqual(r.code, 0);
        assert.ok(r.stdout.includes(SECRET_NOT_FOUND("missing-secret")), r.stdout);
        assert.match(r.stdout, /What to do:/);
        await stack.set("secretName", "db-password");
    });

    it("bad input fails preview with one line per property", async () => {
        await stack.set("apiVersion", "1.0");
        await stack.set("destination", "ftp://example.com/backups");
        const r = await stack.run(["preview", "--stack", stack.stack], { allowFailure: true });
        assert.notEqual(r.code, 0);
        assert.match(r.stdout, /keyvault-backup:index:SecretBackup resource 'app-secret': property apiVersion value \{1\.0\} has a problem: /);
        assert.match(r.stdout, /keyvault-backup:index:SecretBackup resource 'app-secret': property destination value \{ftp:\/\/example\.com\/backups\} has a problem: /);
        await stack.run(["config", "rm", "apiVersion", "--stack", stack.stack]);
        await stack.set("destination", folder);
    });

    it("destroy removes the resources and keeps every backup file", async () => {
        const before = files();
        const r = await stack.run(["destroy", "--yes", "--skip-preview", "--stack", stack.stack]);
        assert.deepEqual(summaryCounts(r.stdout), { deleted: 7 });
        assert.deepEqual(files(), before);
    });
});
