import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli } from "../../scripts/harness/pulumi-cli";
import { startTestEmulator } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli, summaryCounts } from "../helpers/pulumi-cli";
import { generateSdk, pluginCredentialConfig, pluginProviders } from "../helpers/plugin";

const GO_EXAMPLE = path.join(repoRoot, "examples", "go");

/** What examples/go holds, with each file's contents: the CLI must build the program elsewhere. */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of fs.readdirSync(dir).sort()) {
        const at = path.join(dir, name);
        out[name] = fs.statSync(at).isFile() ? createHash("sha256").update(fs.readFileSync(at)).digest("hex") : "<dir>";
    }
    return out;
}

describe(`examples/go: a Go program through the real CLI and the provider plugin${cliSkipNote()}`, function () {
    // The first build of the program compiles sdk/v3 and its dependencies (~90 s on a cold cache).
    this.timeout(900_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;
    let stack: CliStack;
    let folder: string;
    let exampleBefore: Record<string, string>;

    before(async function () {
        cli = requireCli(this);
        if (!fs.existsSync(path.join(cli.binDir, "pulumi-language-go"))) throw new Error(`Go programs cannot run: no pulumi-language-go in ${cli.binDir}`);
        exampleBefore = snapshot(GO_EXAMPLE);
        generateSdk(cli, "go"); // with its go.mod: examples/go/go.mod replaces the SDK's module with that folder
        emulator = await startTestEmulator({
            seed: { vaults: { govault: { secrets: { "db-password": "go-db-value-3f81", "api-key": "go-api-value-b27c" }, keys: { "signing-key": { kty: "RSA" } } } } },
        });
        // go.mod and go.sum are checked in: the build may download modules (the proxy) but never edits them.
        const env = { ...emulatorEnv(emulator), GOFLAGS: "-mod=readonly -buildvcs=false" };
        stack = new CliStack(cli, { name: "kvb-go", program: GO_EXAMPLE, runtime: { name: "go" }, providers: pluginProviders }, env);
        folder = path.join(stack.work, "backups");
        await stack.init({ ...pluginCredentialConfig(emulator), vaultUrl: emulator.vaults.govault, secretName: "db-password", destination: folder });
    });
    after(async () => {
        await emulator?.close();
        // Anything a run left in the example folder (it should leave nothing) goes.
        if (exampleBefore) for (const name of fs.readdirSync(GO_EXAMPLE)) if (!(name in exampleBefore)) fs.rmSync(path.join(GO_EXAMPLE, name), { recursive: true, force: true });
    });

    const files = (): string[] => (fs.existsSync(folder) ? fs.readdirSync(folder).sort() : []);

    it("preview plans the component, one backup per object and the single secret, and writes nothing", async () => {
        const r = await stack.run(["preview", "--stack", stack.stack]);
        assert.match(r.stdout, /\+\s+keyvault-backup:index:VaultBackup\s+vault\s+create/);
        assert.match(r.stdout, /\+\s+keyvault-backup:index:SecretBackup\s+app-secret\s+create/);
        for (const child of ["vault/db-password", "vault/api-key", "vault/keys/signing-key"]) {
            assert.match(r.stdout, new RegExp(`\\+\\s+keyvault-backup:index:\\w+Backup\\s+${child}\\s+create`), child);
        }
        assert.deepEqual(summaryCounts(r.stdout), { "to create": 6 });
        assert.deepEqual(files(), []);
    });

    it("up backs up every object and the single secret; each file's hash is its output's sha256", async () => {
        const r = await stack.up();
        assert.deepEqual(summaryCounts(r.stdout), { created: 6 });
        assert.equal(files().length, 4);
        const out = await stack.outputs();
        assert.deepEqual(out.secretNames, ["api-key", "db-password"]);
        const objects = out.objects as Record<string, Record<string, { location: string; sha256: string }>>;
        assert.deepEqual(Object.keys(objects.secret).sort(), ["api-key", "db-password"]);
        assert.deepEqual(Object.keys(objects.key), ["signing-key"]);
        const app = out.appSecret as { location: string; sha256: string; sizeBytes: number };
        const backups = [app, ...Object.values(objects.secret), ...Object.values(objects.key)];
        for (const b of backups) {
            const bytes = fs.readFileSync(new URL(b.location));
            assert.equal(b.sha256, createHash("sha256").update(bytes).digest("hex"), b.location);
        }
        assert.equal(app.sizeBytes, fs.readFileSync(new URL(app.location)).length);
    });

    it("a second up --expect-no-changes changes nothing and takes no backup", async () => {
        const r = await stack.up(["--expect-no-changes"]);
        assert.deepEqual(summaryCounts(r.stdout), { unchanged: 6 });
        assert.equal(files().length, 4);
    });

    it("the runs left examples/go as it was: no binary, go.mod and go.sum untouched", () => {
        assert.deepEqual(snapshot(GO_EXAMPLE), exampleBefore);
    });
});
