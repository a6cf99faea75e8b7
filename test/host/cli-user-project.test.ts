import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { azureNativeConfig, startTestEmulator } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts, writeSourceProject } from "../helpers/pulumi-cli";

// A user's own project, as the README tells them to make it: the packed package installed with
// npm, a JavaScript program using SecretBackup and VaultBackup, run by the real Pulumi CLI.
const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const { SecretBackup, VaultBackup } = require("pulumi-keyvault-backup");
const config = new pulumi.Config();
const vaultUrl = config.require("vaultUrl");
const destination = config.require("destination");
const one = new SecretBackup("db-password", { vaultUrl, secretName: "db-password", destination });
const vault = new VaultBackup("vault", { vaultUrl, destination, kinds: ["secret"] });
exports.location = one.location;
exports.objects = vault.objects;
`;

/** The program of the recorded previous-version stack (fixtures/cli-upgrade-da69f2a). */
const UPGRADE_PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const { SecretBackup, KeyBackup } = require("pulumi-keyvault-backup");
const config = new pulumi.Config();
const vaultUrl = config.require("vaultUrl");
const destination = config.require("destination");
const secret = new SecretBackup("db-password", { vaultUrl, secretName: "db-password", destination });
const key = new KeyBackup("signing-key", { vaultUrl, keyName: "signing-key", destination });
exports.secretLocation = secret.location;
exports.keyLocation = key.location;
`;

describe(`a user project with the packed package installed, through the real Pulumi CLI${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;
    let stack: CliStack;
    let folder: string;

    before(async function () {
        cli = requireCli(this);
        emulator = await startTestEmulator({ seed: { vaults: { uservault: { secrets: { "db-password": "db-password-value-91ce", "api-key": "api-key-value-0d3b" }, keys: { "signing-key": { kty: "RSA" } } } } } });
        stack = new CliStack(cli, { name: "user-project" }, emulatorEnv(emulator));
        // `npm pack` of what is built now (the prepack script would rebuild dist/ under running tests).
        const tgz = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", stack.work], { cwd: repoRoot, encoding: "utf8" }).trim().split("\n").at(-1)!;
        // The project's program is its own index.js, not a file of this repository.
        writeSourceProject(stack.projectDir, "user-project", PROGRAM, { "pulumi-keyvault-backup": `file:../${tgz}` });
        execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"], { cwd: stack.projectDir, stdio: "ignore" });
        folder = path.join(stack.work, "backups");
        await stack.init({ ...azureNativeConfig(emulator, 0), vaultUrl: emulator.vaults.uservault, destination: folder });
    });
    after(async () => emulator?.close());

    it("up backs up through the installed package; the engine stores a provider that requires it", async () => {
        const r = await stack.up();
        // Stack, SecretBackup, VaultBackup and its two children.
        assert.deepEqual(summaryCounts(r.stdout), { created: 5 });
        assert.equal(fs.readdirSync(folder).length, 3);
        const deployment = JSON.parse(await stack.exportText()) as { deployment: { resources: Array<{ type: string; inputs?: Record<string, unknown> }> } };
        const backups = deployment.deployment.resources.filter((x) => x.type === "pulumi-nodejs:dynamic/keyvault:SecretBackup");
        assert.equal(backups.length, 3);
        for (const b of backups) {
            const provider = String(b.inputs?.__provider);
            assert.match(provider, /require\("pulumi-keyvault-backup\/dist\/provider\/dynamic\.js"\)/);
            assert.ok(Buffer.byteLength(provider) < 400, `__provider is ${Buffer.byteLength(provider)} bytes`);
        }
        const out = await stack.outputs();
        assert.match(String(out.location), /^file:\/\/.*_db-password_.*\.kvbackup$/);
    });

    it("a second up changes nothing; destroy keeps the files", async () => {
        const r = await stack.up(["--expect-no-changes"]);
        assert.deepEqual(summaryCounts(r.stdout), { unchanged: 5 });
        await stack.run(["destroy", "--yes", "--skip-preview", "--stack", stack.stack]);
        assert.equal(fs.readdirSync(folder).length, 3);
    });

    it("a stack made by the previous version (da69f2a) upgrades through the CLI with no change and no backup", async () => {
        // Its state, as `pulumi stack export` wrote it (fixtures/cli-upgrade-da69f2a/README.md), moved to this emulator and folder.
        const upgrade = new CliStack(cli, { name: "upgrade-project" }, emulatorEnv(emulator));
        writeSourceProject(upgrade.projectDir, "upgrade-project", UPGRADE_PROGRAM);
        fs.symlinkSync(path.join(stack.projectDir, "node_modules"), path.join(upgrade.projectDir, "node_modules"));
        const upgradeFolder = path.join(upgrade.work, "backups");
        await upgrade.init({ ...azureNativeConfig(emulator, 0), vaultUrl: emulator.vaults.uservault, destination: upgradeFolder });
        const fixture = fs.readFileSync(path.join(repoRoot, "test", "host", "fixtures", "cli-upgrade-da69f2a", "deployment.json"), "utf8")
            .replaceAll("{{vaultUrl}}", emulator.vaults.uservault).replaceAll("{{destination}}", upgradeFolder).replaceAll("{{stack}}", upgrade.stack);
        const file = path.join(upgrade.work, "deployment.json");
        fs.writeFileSync(file, fixture);
        await upgrade.run(["stack", "import", "--file", file, "--stack", upgrade.stack]);
        const backupCalls = () => emulator.requests().filter((r) => r.operation === "backup" && r.status === 200).length;
        const calls = backupCalls();
        const r = await upgrade.up(["--expect-no-changes"]);
        assert.deepEqual(summaryCounts(r.stdout), { unchanged: 3 });
        assert.equal(backupCalls(), calls, "no backup re-taken");
        const exported = JSON.parse(await upgrade.exportText()) as { deployment: { resources: Array<{ type: string; outputs?: Record<string, unknown> }> } };
        const secret = exported.deployment.resources.find((x) => x.type === "pulumi-nodejs:dynamic/keyvault:SecretBackup")!;
        assert.match(String(secret.outputs?.location), /_db-password_20261204T004338736Z_a11d4680582d\.kvbackup$/, "the recorded backup is still the one held");
    });
});
