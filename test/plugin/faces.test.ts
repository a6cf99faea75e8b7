import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { verifyBackup } from "../../provider/verify";
import { azureNativeConfig, startTestEmulator } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { uniqueFolder } from "../helpers/program";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts } from "../helpers/pulumi-cli";
import { pluginCredentialConfig, pluginProviders } from "../helpers/plugin";

/**
 * A TypeScript program (compiled JavaScript) with each case as a dynamic resource
 * (`dynamic-<case>`), a plugin resource (`plugin-<case>`), or both, by the config `faces`; plus a
 * `VaultBackup` of each face when `vault` is set. Written inside the repository's scratch folder so
 * `@pulumi/pulumi` and this package resolve from the checkout.
 */
const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const kb = require(${JSON.stringify(repoRoot)});
const cfg = new pulumi.Config();
const faces = cfg.requireObject("faces");
const cases = cfg.requireObject("cases");
for (const c of cases) for (const face of faces) {
    const Class = face === "dynamic" ? kb[c.type] : kb.plugin[c.type];
    new Class(faces.length > 1 ? face + "-" + c.name : c.name, { ...c.args, destination: cfg.require("destination") });
}
const vault = cfg.get("vault");
if (vault) for (const face of faces) {
    const Class = face === "dynamic" ? kb.VaultBackup : kb.plugin.VaultBackup;
    new Class("vault", { vaultUrl: vault, destination: cfg.require("destination") });
}
`;

type StateResource = { urn: string; type: string; outputs?: Record<string, unknown> };

/** What must be the same in both faces' state: every output but where and when the blob was written. */
function comparable(outputs: Record<string, unknown> = {}): Record<string, unknown> {
    const { __provider: _p, location: _l, sha256: _s, backedUpAt: _b, requestId: _r, ...rest } = outputs;
    return rest;
}

/** The error line the CLI printed for resource `name` (`error: ...` after its diagnostics header). */
function errorOf(stdout: string, name: string): string {
    const at = stdout.lastIndexOf(`(${name}):\n`);
    assert.ok(at >= 0, `diagnostics for ${name} in:\n${stdout}`);
    const line = stdout.slice(at).split("\n").find((l) => l.trim().startsWith("error:"));
    assert.ok(line, `an error for ${name}`);
    // The engine names the resource (and its type) in check failures; the reason after it is the provider's.
    // Each call has its own request id; everything else Key Vault said must match.
    return line.trim().replace(/^error: \S+ resource '[^']+': /, "").replace(/request id [0-9a-f-]+/, "request id <id>");
}

describe(`the plugin's resources and the dynamic ones, through the real CLI${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;
    let program: string;

    before(async function () {
        cli = requireCli(this);
        emulator = await startTestEmulator({
            seed: { vaults: { facesvault: { secrets: { "app-secret": "faces-secret-value-4d2c" }, keys: { "app-key": { kty: "RSA" } }, certificates: { "app-cert": {} } } } },
        });
        const dir = uniqueFolder("faces-program");
        fs.mkdirSync(dir, { recursive: true });
        program = path.join(dir, "index.js");
        fs.writeFileSync(program, PROGRAM);
    });
    after(async () => emulator?.close());

    /** A stack of the program with both credentials (azure-native:* for the dynamic face, keyvault-backup:* for the plugin). */
    async function newStack(config: Record<string, string>): Promise<{ stack: CliStack; folder: string }> {
        const stack = new CliStack(cli, { name: "faces", program, providers: pluginProviders }, emulatorEnv(emulator));
        const folder = path.join(stack.work, "backups");
        await stack.init({ ...azureNativeConfig(emulator, 0), ...pluginCredentialConfig(emulator), destination: folder, ...config });
        return { stack, folder };
    }

    async function resources(stack: CliStack): Promise<Record<string, StateResource>> {
        const state = JSON.parse(await stack.exportText()) as { deployment: { resources: StateResource[] } };
        return Object.fromEntries(state.deployment.resources.map((r) => [r.urn.split("::").at(-1)!, r]));
    }

    const vaultUrl = (): string => emulator.vaults.facesvault;

    it("the same inputs give the same state and a good backup of the same object from both faces", async () => {
        const cases = [
            { name: "secret", type: "SecretBackup", args: { vaultUrl: vaultUrl(), secretName: "app-secret", triggers: ["t1"] } },
            { name: "key", type: "KeyBackup", args: { vaultUrl: vaultUrl(), keyName: "app-key", apiVersion: "7.3" } },
            { name: "certificate", type: "CertificateBackup", args: { vaultUrl: vaultUrl() + "/", certificateName: "app-cert" } },
        ];
        const { stack } = await newStack({ faces: JSON.stringify(["dynamic", "plugin"]), cases: JSON.stringify(cases) });
        await stack.up();
        const state = await resources(stack);
        for (const c of cases) {
            const [dyn, plug] = [state[`dynamic-${c.name}`], state[`plugin-${c.name}`]];
            assert.equal(plug.type, `keyvault-backup:index:${c.type}`);
            assert.deepEqual(comparable(plug.outputs), comparable(dyn.outputs), c.name);
            for (const r of [dyn, plug]) {
                const verified = await verifyBackup(String(r.outputs!.location));
                assert.equal(verified.sha256, r.outputs!.sha256);
                assert.equal(verified.sizeBytes, r.outputs!.sizeBytes);
            }
        }
    });

    it("the same vault error and the same input failures from both faces", async () => {
        const cases = [
            { name: "missing", type: "SecretBackup", args: { vaultUrl: vaultUrl(), secretName: "no-such-secret" } },
            { name: "badurl", type: "KeyBackup", args: { vaultUrl: "http://example.com", keyName: "app-key" } },
            { name: "badname", type: "CertificateBackup", args: { vaultUrl: vaultUrl(), certificateName: "not_valid!" } },
        ];
        // One face and one case per run: a failed check stops the program's other registrations.
        for (const c of cases) {
            const errors: string[] = [];
            for (const face of ["dynamic", "plugin"]) {
                const { stack } = await newStack({ faces: JSON.stringify([face]), cases: JSON.stringify([c]) });
                const r = await stack.up([], { allowFailure: true });
                assert.notEqual(r.code, 0);
                errors.push(errorOf(r.stdout, c.name));
            }
            const [dyn, plug] = errors;
            assert.equal(plug, dyn, c.name);
            if (c.name === "missing") assert.match(plug, /A secret with \(name\/id\) no-such-secret was not found in this key vault/);
            if (c.name === "badurl") assert.match(plug, /^property vaultUrl value \{http:\/\/example\.com\} has a problem: /);
        }
    });

    it("a stack of dynamic resources moves onto the plugin's resources with no new backup (the plugin classes alias the dynamic types)", async () => {
        const cases = [{ name: "secret", type: "SecretBackup", args: { vaultUrl: vaultUrl(), secretName: "app-secret" } }];
        const { stack, folder } = await newStack({ faces: JSON.stringify(["dynamic"]), cases: JSON.stringify(cases), vault: vaultUrl() });
        await stack.up();
        const files = fs.readdirSync(folder).sort();
        const before = await resources(stack);
        await stack.set("faces", JSON.stringify(["plugin"]));
        const r = await stack.up();
        // The engine replaces the component itself (it moves from the program into the plugin); every backup resource moves.
        const counts = summaryCounts(r.stdout);
        assert.equal(counts.created ?? 0, 1, r.stdout);
        assert.equal(counts.updated ?? 0, 0, r.stdout);
        assert.equal(counts.deleted, 1, "the program's component, replaced by the plugin's");
        assert.match(r.stdout, /\+\s+keyvault-backup:index:VaultBackup\s+vault\s+creating/);
        assert.deepEqual(fs.readdirSync(folder).sort(), files, "no new backup file");
        const after = await resources(stack);
        assert.equal(after["secret"].type, "keyvault-backup:index:SecretBackup");
        assert.equal(after["secret"].outputs!.sha256, before["secret"].outputs!.sha256, "the same backup");
        assert.equal(after["vault"].type, "keyvault-backup:index:VaultBackup");
        assert.equal(after["vault/app-secret"].type, "keyvault-backup:index:SecretBackup");
        assert.equal(after["vault/app-secret"].outputs!.sha256, before["vault/app-secret"].outputs!.sha256);
        const second = await stack.up(["--expect-no-changes"]);
        assert.deepEqual(Object.keys(summaryCounts(second.stdout)), ["unchanged"]);
    });
});
