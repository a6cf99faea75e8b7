import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { startTestEmulator } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts } from "../helpers/pulumi-cli";

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

describe(`a user project with the packed package installed, through the real Pulumi CLI${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;
    let stack: CliStack;
    let folder: string;

    before(async function () {
        cli = requireCli(this);
        emulator = await startTestEmulator({ seed: { vaults: { uservault: { secrets: { "db-password": "db-password-value-91ce", "api-key": "api-key-value-0d3b" } } } } });
        stack = new CliStack(cli, { name: "user-project" }, emulatorEnv(emulator));
        // The project's program is its own index.js, not a file of this repository.
        fs.writeFileSync(path.join(stack.projectDir, "Pulumi.yaml"), "name: user-project\nruntime: nodejs\n");
        fs.writeFileSync(path.join(stack.projectDir, "index.js"), PROGRAM);
        // `npm pack` of what is built now (the prepack script would rebuild dist/ under running tests).
        const tgz = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", stack.work], { cwd: repoRoot, encoding: "utf8" }).trim().split("\n").at(-1)!;
        fs.writeFileSync(path.join(stack.projectDir, "package.json"), JSON.stringify({
            name: "user-project", version: "1.0.0", private: true, main: "index.js",
            dependencies: { "pulumi-keyvault-backup": `file:../${tgz}` },
        }));
        execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"], { cwd: stack.projectDir, stdio: "ignore" });
        folder = path.join(stack.work, "backups");
        const p = emulator.principals[0];
        await stack.init(
            { vaultUrl: emulator.vaults.uservault, destination: folder, "azure-native:clientId": p.clientId, "azure-native:tenantId": emulator.tenantId },
            { "azure-native:clientSecret": p.clientSecret },
        );
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
});
