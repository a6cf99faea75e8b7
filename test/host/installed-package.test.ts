import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, dynamicOps } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// The package as a user's project has it: a copy of the built package under the project's
// node_modules (dependencies found further up, in this repository's node_modules; @pulumi/pulumi
// linked in, as the language host and the provider host are the project's own). There Pulumi
// serializes the provider as a `require` of the installed module, not as closures.
const TYPE = "pulumi-nodejs:dynamic/keyvault:SecretBackup";
const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const { SecretBackup } = require("pulumi-keyvault-backup");
const config = new pulumi.Config("fixture");
const backup = new SecretBackup("installed", { vaultUrl: config.require("vaultUrl"), secretName: "first-secret", destination: config.require("destination") });
exports.location = backup.location;
`;

function installedProject(): string {
    const project = uniqueFolder("installed-project");
    const pkg = path.join(project, "node_modules", "pulumi-keyvault-backup");
    fs.mkdirSync(path.join(pkg, "dist"), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, "package.json"), path.join(pkg, "package.json"));
    fs.copyFileSync(path.join(repoRoot, "dist", "index.js"), path.join(pkg, "dist", "index.js"));
    fs.cpSync(path.join(repoRoot, "dist", "provider"), path.join(pkg, "dist", "provider"), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules", "@pulumi"), path.join(project, "node_modules", "@pulumi"));
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "installed-fixture", version: "1.0.0", private: true }));
    fs.writeFileSync(path.join(project, "index.js"), PROGRAM);
    return project;
}

function ok(result: OperationResult): OperationResult {
    assert.equal(result.error, undefined, `${result.error}\nprogram stderr: ${result.programStderr}\nhost stderr: ${result.hostStderr}`);
    return result;
}

describe("the package installed under a project's node_modules", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let project: string;
    let stack: LocalEngine;
    let statePath: string;
    const backupCalls = (): number => emulator.requests().filter((r) => r.operation === "backup" && r.status === 200).length;
    const backup = () => stack.state.resources.find((r) => r.type === TYPE)!;

    before(async () => {
        emulator = await startTestEmulator({ seed: { vaults: { installed: { secrets: { "first-secret": "first-p3q4" } } } } });
        project = installedProject();
        statePath = path.join(project, "state.json");
        stack = new LocalEngine({
            projectRoot: project,
            project: "fixture",
            stack: uniqueName("installed"),
            program: "index.js",
            statePath,
            config: { ...azureNativeConfig(emulator, 0), "fixture:vaultUrl": emulator.vaults.installed, "fixture:destination": path.join(project, "backups") },
            secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    });
    after(async () => {
        await emulator?.close();
    });

    it("serializes the provider as a require of the installed module (a few hundred bytes), and backs up through it", async () => {
        const up = ok(await stack.up());
        assert.deepEqual(dynamicOps(up), ["create"]);
        const provider = String(backup().inputs.__provider);
        assert.match(provider, /require\("pulumi-keyvault-backup\/dist\/provider\/dynamic\.js"\)/);
        assert.ok(Buffer.byteLength(provider) < 400, `__provider is ${Buffer.byteLength(provider)} bytes`);
        const file = fileURLToPath(String(up.exports.location));
        assert.equal(createHash("sha256").update(fs.readFileSync(file)).digest("hex"), backup().outputs.sha256);
        assert.equal(backupCalls(), 1);
    });

    it("a stack the previous version made (its provider serialized as closures naming operations) upgrades with no change and no backup; refresh and destroy work through the old provider", async () => {
        // The previous version registered, when installed, the closures of provider.ts holding the package path of operations.
        const { makeProvider } = await import("../../provider/provider");
        const old = makeProvider("pulumi-keyvault-backup/dist/provider/operations");
        const oldText = await serializedProvider(old);
        assert.match(oldText, /"pulumi-keyvault-backup\/dist\/provider\/operations"/);
        const state = JSON.parse(fs.readFileSync(statePath, "utf8")) as { resources: Array<{ type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }> };
        for (const r of state.resources.filter((x) => x.type === TYPE)) r.inputs.__provider = r.outputs.__provider = oldText;
        fs.writeFileSync(statePath, JSON.stringify(state));
        const calls = backupCalls();

        const up = ok(await stack.up());
        assert.deepEqual(dynamicOps(up), ["same"]);
        assert.equal(backupCalls(), calls);
        // The engine keeps the new inputs for a resource that is the same; put the old provider back to run refresh and destroy through it.
        const after = JSON.parse(fs.readFileSync(statePath, "utf8")) as typeof state;
        for (const r of after.resources.filter((x) => x.type === TYPE)) r.inputs.__provider = r.outputs.__provider = oldText;
        fs.writeFileSync(statePath, JSON.stringify(after));
        const refresh = ok(await stack.refresh());
        assert.deepEqual(refresh.steps.filter((s) => s.type === TYPE).map((s) => s.changed), [[]]);
        const location = fileURLToPath(String(backup().outputs.location));
        ok(await stack.destroy());
        assert.equal(stack.state.resources.length, 0);
        assert.ok(fs.existsSync(location), "the backup file outlives its resource");
    });
});

/** What Pulumi makes of a provider object, as `dynamic.Resource` serializes it. */
async function serializedProvider(provider: object): Promise<string> {
    const { serializeFunction } = await import("@pulumi/pulumi/runtime/closure/serializeClosure");
    return (await serializeFunction(() => provider, { allowSecrets: true })).text;
}
