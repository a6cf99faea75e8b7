import { strict as assert } from "node:assert";
import * as path from "node:path";
import { runProgram, type Registration } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// The root program's reading of its stack config, under mocks (no host needed to see the inputs).
const rootProgram = path.join(repoRoot, "dist", "program", "index.js");

async function registrations(config: Record<string, string>): Promise<Registration[]> {
    const full = { "keyvault-backup:vaultUrl": "https://myvault.vault.azure.net", ...config };
    const run = await runProgram(rootProgram, {
        project: "keyvault-backup", stack: "dev", config: full, preview: true,
        register: async (reg) => ({ id: "", state: reg.inputs }),
    });
    return run.registrations.filter((r) => r.type === "pulumi-nodejs:dynamic/keyvault:SecretBackup");
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

    for (const [label, config, message] of [
        ["no secrets key", {}, /Missing required configuration variable 'keyvault-backup:secrets'/],
        ["an empty list", { "keyvault-backup:secrets": "[]" }, /config "secrets" must be a non-empty list/],
        ["a number entry", { "keyvault-backup:secrets": "[42]" }, /config "secrets"\[0\] must be a secret name or \{ name, version \}/],
        ["a duplicate name", { "keyvault-backup:secrets": '["a","a"]' }, /config "secrets" names "a" twice/],
        ["triggers not a list", { "keyvault-backup:secrets": '["a"]', "keyvault-backup:triggers": '{"x":1}' }, /config "triggers" must be a list/],
    ] as const) {
        it(`refuses ${label}, naming the config key`, async () => {
            await assert.rejects(registrations(config), message);
        });
    }
});
