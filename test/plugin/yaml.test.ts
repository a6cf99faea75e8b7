import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { startTestEmulator } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts } from "../helpers/pulumi-cli";
import { pluginCredentialConfig, pluginDir } from "../helpers/plugin";

/**
 * examples/yaml/Pulumi.yaml as a user's project: the same file, with the plugin's path made
 * absolute (the example names it relative to its own folder, ../../plugin).
 */
function yamlProject(dir: string): void {
    const text = fs.readFileSync(path.join(repoRoot, "examples", "yaml", "Pulumi.yaml"), "utf8");
    assert.ok(text.includes("path: ../../plugin"), "the example runs the plugin from this repository");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), text.replace("path: ../../plugin", `path: ${JSON.stringify(pluginDir)}`));
}

describe(`examples/yaml: a Pulumi YAML program through the real CLI and the provider plugin${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;
    let stack: CliStack;
    let folder: string;

    before(async function () {
        cli = requireCli(this);
        emulator = await startTestEmulator({
            seed: { vaults: { yamlvault: { secrets: { "db-password": "yaml-db-value-2f81", "api-key": "yaml-api-value-0b6e" }, keys: { "signing-key": { kty: "RSA" } } } } },
        });
        stack = new CliStack(cli, { name: "keyvault-backup-yaml" }, emulatorEnv(emulator));
        yamlProject(stack.projectDir);
        folder = path.join(stack.work, "backups");
        await stack.init({ ...pluginCredentialConfig(emulator), vaultUrl: emulator.vaults.yamlvault, secretName: "db-password", destination: folder });
    });
    after(async () => emulator?.close());

    it("up backs up every object and the single secret, with the schema's outputs", async () => {
        const r = await stack.up();
        assert.deepEqual(summaryCounts(r.stdout), { created: 6 });
        const files = fs.readdirSync(folder);
        assert.equal(files.length, 4);
        const out = await stack.outputs();
        assert.deepEqual(out.secretNames, ["api-key", "db-password"]);
        assert.deepEqual(Object.keys((out.objects as Record<string, object>).key), ["signing-key"]);
        const bytes = fs.readFileSync(new URL(out.appSecretLocation as string));
        assert.equal(out.appSecretSha256, createHash("sha256").update(bytes).digest("hex"));
    });

    it("a second up changes nothing and takes no backup", async () => {
        const r = await stack.up(["--expect-no-changes"]);
        assert.deepEqual(summaryCounts(r.stdout), { unchanged: 6 });
        assert.equal(fs.readdirSync(folder).length, 4);
    });
});
