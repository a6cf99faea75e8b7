import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { azureNativeConfig, certificateClientFor, keyClientFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts } from "../helpers/pulumi-cli";

const ROOT_PROGRAM = { name: "keyvault-backup", program: path.join(repoRoot, "dist", "program", "index.js") };

/** The recorded 404 for a missing secret (../shared/reference/keyvault-behaviour.md, SecretNotFound). */
const SECRET_NOT_FOUND = (name: string) =>
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`;

describe(`the root program through the real Pulumi CLI${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;

    before(async function () {
        cli = requireCli(this);
        emulator = await startTestEmulator({ vaults: ["clivault", "clibulk"] });
    });
    after(async () => emulator?.close());

    describe("one secret, from preview to destroy", () => {
        let stack: CliStack;
        let secretName: string;
        let folder: string;
        const values = ["cli-first-value-7d1e", "cli-rotated-value-93ab"];

        before(async () => {
            secretName = uniqueName("cli");
            await secretClientFor(emulator, "clivault").setSecret(secretName, values[0]);
            stack = new CliStack(cli, ROOT_PROGRAM, emulatorEnv(emulator));
            folder = path.join(stack.work, "backups");
            await stack.init({ ...azureNativeConfig(emulator, 0), vaultUrl: emulator.vaults.clivault, secrets: JSON.stringify([secretName]), destination: folder });
        });

        it("preview shows one backup to create and writes nothing", async () => {
            const r = await stack.run(["preview", "--stack", stack.stack]);
            assert.match(r.stdout, new RegExp(`\\+\\s+pulumi-nodejs:dynamic/keyvault:SecretBackup\\s+${secretName}\\s+create`));
            assert.deepEqual(summaryCounts(r.stdout), { "to create": 2 });
            assert.equal(fs.existsSync(folder), false, "preview wrote nothing");
        });

        it("up takes one backup, and stack output names it with its hash", async () => {
            const r = await stack.up();
            assert.deepEqual(summaryCounts(r.stdout), { created: 2 });
            const files = fs.readdirSync(folder);
            assert.equal(files.length, 1);
            const out = (await stack.outputs()).backups as Record<string, { location: string; sha256: string; sizeBytes: number }>;
            const bytes = fs.readFileSync(path.join(folder, files[0]));
            assert.equal(out[secretName].sha256, createHash("sha256").update(bytes).digest("hex"));
            assert.equal(out[secretName].sizeBytes, bytes.length);
        });

        it("a second up changes nothing and takes no backup", async () => {
            const r = await stack.up(["--expect-no-changes"]);
            assert.deepEqual(summaryCounts(r.stdout), { unchanged: 2 });
            assert.equal(fs.readdirSync(folder).length, 1);
        });

        it("a rotated secret: preview --refresh says why, up --refresh takes exactly one new backup", async () => {
            const client = secretClientFor(emulator, "clivault");
            const held = (await client.getSecret(secretName)).properties.version!;
            const rotated = (await client.setSecret(secretName, values[1])).properties.version!;
            const p = await stack.run(["preview", "--refresh", "--stack", stack.stack]);
            assert.ok(p.stdout.includes(`secret "${secretName}" in ${emulator.vaults.clivault} has a new version ${rotated} since its backup (which holds ${held})`), p.stdout);
            assert.match(p.stdout, new RegExp(`~\\s+pulumi-nodejs:dynamic/keyvault:SecretBackup\\s+${secretName}\\s+update`));
            assert.equal(fs.readdirSync(folder).length, 1, "preview wrote nothing");
            const r = await stack.up(["--refresh"]);
            assert.deepEqual(summaryCounts(r.stdout), { updated: 1, unchanged: 1 });
            assert.equal(fs.readdirSync(folder).length, 2);
            const again = await stack.up(["--refresh"]);
            assert.deepEqual(summaryCounts(again.stdout), { unchanged: 2 }, "the rotation is backed up once");
        });

        it("refresh after the newest backup file was deleted reports it missing, and the next up takes it again", async () => {
            const newest = fs.readdirSync(folder).sort().at(-1)!;
            fs.rmSync(path.join(folder, newest));
            const r = await stack.run(["refresh", "--yes", "--skip-preview", "--stack", stack.stack]);
            assert.ok(r.stdout.includes(`backup of secret "${secretName}" at ${pathToFileURL(path.join(folder, newest)).href} is missing; the next update takes a fresh backup`), r.stdout);
            assert.equal(fs.readdirSync(folder).length, 1);
            const u = await stack.up();
            assert.deepEqual(summaryCounts(u.stdout), { updated: 1, unchanged: 1 });
            assert.equal(fs.readdirSync(folder).length, 2);
        });

        it("refresh after a backup file was altered reports it changed, and the next up replaces it with a good one", async () => {
            const newest = fs.readdirSync(folder).sort().at(-1)!;
            const file = path.join(folder, newest);
            const bytes = fs.readFileSync(file);
            bytes[bytes.length - 1] ^= 0xff;
            fs.writeFileSync(file, bytes);
            const r = await stack.run(["refresh", "--yes", "--skip-preview", "--stack", stack.stack]);
            assert.match(r.stdout, new RegExp(`backup of secret "${secretName}" at \\S+ (is changed|has changed|was changed|changed)`), r.stdout);
            await stack.up();
            assert.equal(fs.readdirSync(folder).length, 3, "a new backup; the altered file is left for a person to look at");
        });

        it("state and config hold no secret value; the client secret is encrypted", async () => {
            const exported = await stack.exportText();
            const config = stack.configFileText();
            const p = emulator.principals[0];
            for (const text of [exported, config, JSON.stringify(await stack.outputs())]) {
                for (const secret of [...values, p.clientSecret]) assert.equal(text.includes(secret), false, "no secret value in plaintext");
            }
            assert.match(config, /azure-native:clientSecret:\s*\n\s*secure: v1:/);
        });

        it("a vault error fails up with Key Vault's message and what to do", async () => {
            await stack.set("secrets", JSON.stringify([secretName, "missing-secret"]));
            const r = await stack.up([], { allowFailure: true });
            assert.notEqual(r.code, 0);
            assert.ok(r.stdout.includes(SECRET_NOT_FOUND("missing-secret")), "Key Vault's whole message");
            assert.match(r.stdout, /What to do:/);
            await stack.set("secrets", JSON.stringify([secretName]));
        });

        it("destroy removes the stack's resources and keeps every backup file", async () => {
            const before = fs.readdirSync(folder).sort();
            const r = await stack.run(["destroy", "--yes", "--skip-preview", "--stack", stack.stack]);
            assert.deepEqual(fs.readdirSync(folder).sort(), before);
            await stack.run(["stack", "rm", "--yes", stack.stack]);
        });
    });

    describe("a VaultBackup of secrets, keys and certificates, and a standalone backup", () => {
        const VAULT = "clibulk"; // its own vault: the listing sees only what this block made
        const SECRETS = Array.from({ length: 40 }, (_, i) => `bulk-${String(i).padStart(2, "0")}`);
        const KEYS = ["k-rsa", "k-ec"];
        let stack: CliStack;
        let folder: string;
        let soloUrn: string;
        const filesOf = (name: string) => fs.readdirSync(folder).filter((f) => f.includes(`_${name}_`));

        before(async () => {
            const secrets = secretClientFor(emulator, VAULT);
            for (const name of [...SECRETS, "solo-secret"]) await secrets.setSecret(name, `${name}-value-5e2f`);
            for (const name of KEYS) await keyClientFor(emulator, VAULT).createKey(name, name === "k-ec" ? "EC" : "RSA");
            await (await certificateClientFor(emulator, VAULT).beginCreateCertificate("c-one", { issuerName: "Self", subject: "CN=c-one" }, { intervalInMs: 50 })).pollUntilDone();
            stack = new CliStack(cli, { name: "cli-vault", program: path.join(__dirname, "fixtures", "cli-vault-program.js") }, emulatorEnv(emulator));
            folder = path.join(stack.work, "backups");
            await stack.init({ ...azureNativeConfig(emulator, 0), vaultUrl: emulator.vaults[VAULT], destination: folder, soloSecret: "solo-secret" });
            soloUrn = `urn:pulumi:${stack.stack}::cli-vault::pulumi-nodejs:dynamic/keyvault:SecretBackup::solo`;
        });

        it("up --parallel 64 backs up every object once, and stack output lists them by kind", async () => {
            const r = await stack.up(["--parallel", "64"]);
            const out = (await stack.outputs()).objects as Record<string, Record<string, { location: string }>>;
            for (const name of SECRETS) assert.equal(filesOf(name).length, 1, `one backup of ${name}`);
            for (const name of [...KEYS, "c-one"]) assert.equal(filesOf(name).length, 1, `one backup of ${name}`);
            assert.deepEqual(Object.keys(out.key).sort(), [...KEYS].sort());
            assert.deepEqual(Object.keys(out.certificate), ["c-one"]);
            for (const name of SECRETS) assert.ok(out.secret[name], `objects.secret has ${name}`);
            assert.equal(summaryCounts(r.stdout).created, Object.values(out).reduce((n, byName) => n + Object.keys(byName).length, 0) + 3,
                "every object's backup, the VaultBackup, the solo backup and the stack were created");
        });

        it("a second up --parallel 64 changes nothing", async () => {
            const files = fs.readdirSync(folder).length;
            await stack.up(["--parallel", "64", "--expect-no-changes"]);
            assert.equal(fs.readdirSync(folder).length, files);
        });

        it("rotations: preview names the rotated objects and why, with no refresh; up backs up exactly those", async () => {
            await secretClientFor(emulator, VAULT).setSecret("bulk-07", "bulk-07-rotated-8c1d");
            await keyClientFor(emulator, VAULT).createKey("k-rsa", "RSA"); // a new version
            const p = await stack.run(["preview", "--stack", stack.stack]);
            const updates = [...p.stdout.matchAll(/~\s+pulumi-nodejs:dynamic\/keyvault:(\w+)\s+(\S+)\s+update/g)].map((m) => `${m[1]} ${m[2]}`).sort();
            assert.equal(updates.length, 2, p.stdout);
            assert.ok(updates[0].startsWith("KeyBackup") && updates[0].includes("k-rsa"), updates[0]);
            assert.ok(updates[1].startsWith("SecretBackup") && updates[1].includes("bulk-07"), updates[1]);
            // As the CLI prints it: the property that differs, and the provider's reason.
            assert.match(p.stdout, /SecretBackup\s+vault\/bulk-07\s+update \[diff: ~sourceUpdatedOn\]/);
            assert.match(p.stdout, /SecretBackup of secret "bulk-07": a new backup is due: the vault lists it as changed at \S+, after the version the backup holds \(\S+\): a new version in the vault/);
            assert.match(p.stdout, /KeyBackup of key "k-rsa": a new backup is due: .*: a new version in the vault/);
            assert.match(p.stdout, /2 due \(2 changed: each one's line says why\), 42 unchanged \(a preview takes no backup\)/);
            assert.deepEqual(summaryCounts(p.stdout), { "to update": 2, unchanged: 45 });
            const r = await stack.up(["--parallel", "64"]);
            assert.equal(summaryCounts(r.stdout).updated, 2, r.stdout);
            assert.equal(filesOf("bulk-07").length, 2);
            assert.equal(filesOf("k-rsa").length, 2);
            assert.equal(filesOf("bulk-08").length, 1);
        });

        it("--target backs up only the targeted resource", async () => {
            const soloBefore = filesOf("solo-secret").length; // the standalone backup's and VaultBackup's child's
            await secretClientFor(emulator, VAULT).setSecret("solo-secret", "solo-rotated-2b9a");
            await secretClientFor(emulator, VAULT).setSecret("bulk-09", "bulk-09-rotated-4e7c");
            await stack.run(["refresh", "--yes", "--skip-preview", "--target", soloUrn, "--stack", stack.stack]);
            const r = await stack.up(["--target", soloUrn]);
            assert.equal(summaryCounts(r.stdout).updated, 1, r.stdout);
            assert.equal(filesOf("solo-secret").length, soloBefore + 1, "only the targeted backup of solo-secret was taken");
            assert.equal(filesOf("bulk-09").length, 1, "an untargeted rotation waits for the next full up");
            await stack.up();
            assert.equal(filesOf("bulk-09").length, 2);
        });
    });

    it("bad input fails preview, each bad property named, and writes nothing", async () => {
        const stack = new CliStack(cli, ROOT_PROGRAM, emulatorEnv(emulator));
        await stack.init({ ...azureNativeConfig(emulator, 0), vaultUrl: "http://clivault.example", secrets: JSON.stringify(["bad name!"]), destination: path.join(stack.work, "backups") });
        const r = await stack.run(["preview", "--stack", stack.stack], { allowFailure: true });
        assert.notEqual(r.code, 0);
        // The engine's wording for a failed Check, one line per property (both on one resource: the
        // engine stops at the first resource whose Check fails, whichever that is).
        assert.ok(r.stdout.includes("resource 'bad name!': property vaultUrl value {http://clivault.example} has a problem: \"http://clivault.example\" must use https"), r.stdout);
        assert.ok(r.stdout.includes("resource 'bad name!': property secretName value {bad name!} has a problem: \"bad name!\" is not a valid secret name"), r.stdout);
        assert.equal(fs.existsSync(path.join(stack.work, "backups")), false);
    });

    it("a failing `config set --secret` names the command but never the value", async () => {
        const stack = new CliStack(cli, ROOT_PROGRAM, emulatorEnv(emulator));
        const value = "never-shown-value-4f1a";
        // No such stack: the command fails.
        await assert.rejects(stack.run(["config", "set", "--secret", "--stack", "no-such-stack", "--", "azure-native:clientSecret", value]), (e: Error) => {
            assert.match(e.message, /pulumi config set --secret --stack no-such-stack -- azure-native:clientSecret \[secret\] failed/);
            assert.equal(e.message.includes(value), false);
            return true;
        });
    });
});
