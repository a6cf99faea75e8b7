import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { runProgram, uniqueFolder, type Registration } from "../helpers/program";
import { repoRoot } from "../helpers/paths";
import { azureNativeConfig, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, dynamicOps, type OperationResult } from "../helpers/host";

// The root program's reading of its stack config, under mocks (no host needed to see the inputs).
const rootProgram = path.join(repoRoot, "dist", "program", "index.js");

async function registrations(config: Record<string, string>, type = "pulumi-nodejs:dynamic/keyvault:SecretBackup"): Promise<Registration[]> {
    const full = { "keyvault-backup:vaultUrl": "https://myvault.vault.azure.net", ...config };
    const run = await runProgram(rootProgram, {
        project: "keyvault-backup", stack: "dev", config: full, preview: true,
        register: async (reg) => ({ id: "", state: reg.inputs }),
    });
    return run.registrations.filter((r) => r.type === type);
}

describe("root program (program/index.ts)", function () {
    this.timeout(30_000);

    it("declares one SecretBackup per configured secret, with the destination, triggers and pinned versions", async () => {
        const regs = await registrations({
            "keyvault-backup:secrets": JSON.stringify(["db-password", { name: "api-key", version: "0123abcd" }]),
            "keyvault-backup:destination": "./backups",
            "keyvault-backup:triggers": JSON.stringify(["2026-11"]),
        });
        assert.deepEqual(regs.map((r) => r.name), ["db-password", "api-key"]);
        const [db, api] = regs.map((r) => r.inputs);
        assert.equal(db.secretName, "db-password");
        assert.equal(db.vaultUrl, "https://myvault.vault.azure.net");
        assert.equal(db.destination, "./backups");
        assert.deepEqual(db.triggers, ["2026-11"]);
        assert.equal(db.secretVersion, undefined);
        assert.equal(api.secretVersion, "0123abcd");
    });

    it("declares one KeyBackup per configured key and one CertificateBackup per certificate, with the same destination; the secrets' are unchanged", async () => {
        const config = {
            "keyvault-backup:secrets": JSON.stringify(["db-password"]),
            "keyvault-backup:keys": JSON.stringify(["signing-key", "db-password"]),
            "keyvault-backup:certificates": JSON.stringify(["tls-cert"]),
            "keyvault-backup:destination": "./backups",
        };
        const keys = await registrations(config, "pulumi-nodejs:dynamic/keyvault:KeyBackup");
        assert.deepEqual(keys.map((r) => [r.name, r.inputs.keyName, r.inputs.vaultUrl, r.inputs.destination]), [
            ["signing-key", "signing-key", "https://myvault.vault.azure.net", "./backups"],
            ["db-password", "db-password", "https://myvault.vault.azure.net", "./backups"],
        ]);
        const certificates = await registrations(config, "pulumi-nodejs:dynamic/keyvault:CertificateBackup");
        assert.deepEqual(certificates.map((r) => [r.name, r.inputs.certificateName, r.inputs.destination]), [["tls-cert", "tls-cert", "./backups"]]);
        const secrets = await registrations(config);
        assert.deepEqual(secrets.map((r) => [r.name, r.inputs.secretName]), [["db-password", "db-password"]]);
    });

    it("declares no key or certificate backups when the stack config has no keys or certificates (stacks from before them)", async () => {
        const config = { "keyvault-backup:secrets": JSON.stringify(["db-password"]) };
        assert.deepEqual(await registrations(config, "pulumi-nodejs:dynamic/keyvault:KeyBackup"), []);
        assert.deepEqual(await registrations(config, "pulumi-nodejs:dynamic/keyvault:CertificateBackup"), []);
    });

    for (const [label, config, message] of [
        ["no secrets key", {}, /Missing required configuration variable 'keyvault-backup:secrets'/],
        ["an empty list", { "keyvault-backup:secrets": "[]" }, /config "secrets" must be a non-empty list/],
        ["a number entry", { "keyvault-backup:secrets": "[42]" }, /config "secrets"\[0\] must be a secret name or \{ name, version \}/],
        ["a duplicate name", { "keyvault-backup:secrets": '["a","a"]' }, /config "secrets" names "a" twice/],
        ["keys not a list", { "keyvault-backup:secrets": '["a"]', "keyvault-backup:keys": '"k"' }, /config "keys" must be a list of key names/],
        ["a bad keys entry", { "keyvault-backup:secrets": '["a"]', "keyvault-backup:keys": '["k", {"name":"x"}]' }, /config "keys"\[1\] must be a key name/],
        ["a duplicate key", { "keyvault-backup:secrets": '["a"]', "keyvault-backup:keys": '["k","k"]' }, /config "keys" names "k" twice/],
        ["a bad certificates entry", { "keyvault-backup:secrets": '["a"]', "keyvault-backup:certificates": '[7]' }, /config "certificates"\[0\] must be a certificate name/],
        ["triggers not a list", { "keyvault-backup:secrets": '["a"]', "keyvault-backup:triggers": '{"x":1}' }, /config "triggers" must be a list/],
    ] as const) {
        it(`refuses ${label}, naming the config key`, async () => {
            await assert.rejects(registrations(config), message);
        });
    }
});

describe("root program: a stack from before keys and certificates gains them (real provider host, emulator)", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    const vault = uniqueName("rootkinds");

    before(async () => {
        emulator = await startTestEmulator({
            seed: { vaults: { [vault]: { secrets: { "db-password": "made-up-1", "api-key": "made-up-2" }, keys: { "signing-key": { kty: "EC", crv: "P-256" } }, certificates: { "tls-cert": {} } } } },
        });
    });
    after(async () => emulator?.close());

    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }

    it("adding `keys` and `certificates` creates one KeyBackup and one CertificateBackup; the secrets' backups are neither replaced nor re-taken, and `backups` stays the same", async () => {
        const folder = uniqueFolder("root-kinds");
        const stack = new LocalEngine({
            projectRoot: repoRoot, project: "keyvault-backup", stack: uniqueName("st"), program: rootProgram,
            config: azureNativeConfig(emulator, 0, {
                "keyvault-backup:vaultUrl": emulator.vaults[vault],
                "keyvault-backup:secrets": JSON.stringify(["db-password", "api-key"]),
                "keyvault-backup:destination": folder,
            }),
            secretKeys: ["azure-native:clientSecret"], env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
        const before = ok(await stack.up());
        assert.deepEqual(dynamicOps(before), ["create", "create"]);
        assert.deepEqual(Object.keys(before.exports).sort(), ["backups", "certificateBackups", "keyBackups"]);
        assert.deepEqual([before.exports.keyBackups, before.exports.certificateBackups], [{}, {}]);
        const secretFiles = fs.readdirSync(folder).sort();

        stack.setConfig("keyvault-backup:keys", JSON.stringify(["signing-key"]));
        stack.setConfig("keyvault-backup:certificates", JSON.stringify(["tls-cert"]));
        const after = ok(await stack.up());
        assert.deepEqual(dynamicOps(after).filter((op) => op !== "same"), ["create", "create"]);
        assert.deepEqual(after.exports.backups, before.exports.backups);
        const keyBackup = (after.exports.keyBackups as Record<string, { location: string; sha256: string; sizeBytes: number }>)["signing-key"];
        const certificateBackup = (after.exports.certificateBackups as Record<string, { location: string; sha256: string; sizeBytes: number }>)["tls-cert"];
        assert.match(keyBackup.location, /_signing-key_\w+_[0-9a-f]{12}\.key\.kvbackup$/);
        assert.match(certificateBackup.location, /_tls-cert_\w+_[0-9a-f]{12}\.certificate\.kvbackup$/);
        assert.equal(fs.statSync(fileURLToPath(keyBackup.location)).size, keyBackup.sizeBytes);
        assert.equal(fs.statSync(fileURLToPath(certificateBackup.location)).size, certificateBackup.sizeBytes);
        // The secrets' files are untouched; exactly the two new ones were added.
        assert.deepEqual(fs.readdirSync(folder).sort(), [...secretFiles, path.basename(fileURLToPath(certificateBackup.location)), path.basename(fileURLToPath(keyBackup.location))].sort());
    });
});
