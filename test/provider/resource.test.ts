import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CertificateBackup, KeyBackup, SecretBackup, operationsModuleId, parseSecretUri, SECRET_BACKUP_TYPE } from "../../provider/resource";
import { makeProvider } from "../../provider/provider";
import { runProgram, uniqueFolder, type Registration } from "../helpers/program";
import { ProviderHost } from "../helpers/host";
import { repoRoot } from "../helpers/paths";

const LIMIT = 8 * 1024;

async function registrationsOf(program: () => unknown, preview = false, type: string | RegExp = SECRET_BACKUP_TYPE): Promise<Registration[]> {
    const run = await runProgram(program, {
        project: "kvb", stack: "test", config: {}, preview,
        register: async (reg) => ({ id: preview ? "" : `id-${reg.name}`, state: reg.inputs }),
    });
    return run.registrations.filter((r) => (typeof type === "string" ? r.type === type : type.test(r.type)));
}

describe("SecretBackup resource and its serialized provider", () => {
    const marker = `client-secret-marker-${Date.now()}`;
    let savedSecret: string | undefined;
    before(() => {
        savedSecret = process.env.AZURE_CLIENT_SECRET;
        process.env.AZURE_CLIENT_SECRET = marker; // if anything captured the environment, the marker would show
    });
    after(() => {
        if (savedSecret === undefined) delete process.env.AZURE_CLIENT_SECRET;
        else process.env.AZURE_CLIENT_SECRET = savedSecret;
    });

    it("registers pulumi-nodejs:dynamic/keyvault:SecretBackup with the inputs and a small __provider holding nothing secret", async () => {
        const [reg, ...rest] = await registrationsOf(() => {
            const b = new SecretBackup("db-password", { vaultUrl: "https://myvault.vault.azure.net", secretName: "db-password", triggers: [1] });
            return { where: b.location };
        });
        assert.equal(rest.length, 0);
        assert.equal(reg.type, "pulumi-nodejs:dynamic/keyvault:SecretBackup");
        assert.equal(reg.inputs.vaultUrl, "https://myvault.vault.azure.net");
        assert.equal(reg.inputs.secretName, "db-password");
        assert.deepEqual(reg.inputs.triggers, [1]);
        const text = reg.inputs.__provider as string;
        assert.equal(typeof text, "string");
        process.stdout.write(`      (__provider from this repository: ${text.length} bytes)\n`);
        assert.ok(text.length < LIMIT, `__provider is ${text.length} bytes`);
        assert.ok(text.includes(`"./dist/provider/operations"`), "loads operations relative to the project root");
        assert.ok(!text.includes(marker), "no client secret from the environment");
        assert.ok(!/SecretClient|Credential|https?:\/\/|Bearer|token/i.test(text), "nothing live, no URL, no token");
    });

    it("many SecretBackups share one serialization", async () => {
        const regs = await registrationsOf(() => {
            for (const n of ["a", "b", "c"]) new SecretBackup(n, { vaultUrl: "https://myvault.vault.azure.net", secretName: n });
        });
        assert.equal(regs.length, 3);
        assert.equal(new Set(regs.map((r) => r.inputs.__provider)).size, 1);
    });

    it("accepts an azure-native keyvault.Secret: vault, name and version come from its secretUriWithVersion", async () => {
        const [reg] = await registrationsOf(() => {
            const secret = { properties: pulumi.output({ secretUriWithVersion: "https://prodvault.vault.azure.net/secrets/api-key/4387e9f3d6e14c459867679a90fd0f79", secretUri: "x" }) };
            new SecretBackup("api-key", { secret, destination: "./b" });
        });
        assert.equal(reg.inputs.vaultUrl, "https://prodvault.vault.azure.net");
        assert.equal(reg.inputs.secretName, "api-key");
        assert.equal(reg.inputs.secretVersion, "4387e9f3d6e14c459867679a90fd0f79");
        assert.equal(reg.inputs.destination, "./b");
    });

    it("KeyBackup and CertificateBackup register their own type tokens and name inputs, sharing SecretBackup's small __provider", async () => {
        const regs = await registrationsOf(() => {
            new SecretBackup("s", { vaultUrl: "https://myvault.vault.azure.net", secretName: "s" });
            new KeyBackup("k", { vaultUrl: "https://myvault.vault.azure.net", keyName: "signing", keyVersion: "0123abcd" });
            new CertificateBackup("c", { vaultUrl: "https://myvault.vault.azure.net", certificateName: "tls" });
        }, false, /^pulumi-nodejs:dynamic\/keyvault:/);
        // Registrations are concurrent: compare by type, not by order.
        const byType = Object.fromEntries(regs.map((r) => [r.type.split(":").pop(), r.inputs]));
        assert.deepEqual(Object.keys(byType).sort(), ["CertificateBackup", "KeyBackup", "SecretBackup"]);
        assert.equal(byType.KeyBackup.keyName, "signing");
        assert.equal(byType.KeyBackup.keyVersion, "0123abcd");
        assert.equal(byType.CertificateBackup.certificateName, "tls");
        assert.ok(!("secretName" in byType.KeyBackup) && !("secretName" in byType.CertificateBackup));
        for (const r of regs) {
            const size = Buffer.byteLength(String(r.inputs.__provider));
            process.stdout.write(`      (__provider of ${r.type.split(":").pop()}: ${size} bytes)\n`);
            assert.ok(size < LIMIT);
        }
        assert.equal(new Set(regs.map((r) => r.inputs.__provider)).size, 1, "one serialization for every kind");
    });

    it("accepts an azure-native keyvault.Key: vault, name and version come from its keyUriWithVersion", async () => {
        const [reg] = await registrationsOf(() => {
            const key = { properties: pulumi.output({ keyUriWithVersion: "https://prodvault.vault.azure.net/keys/signing/8e5f618e13274533a13dd3008093b577", keyUri: "x" }) };
            new KeyBackup("signing", { key });
        }, false, "pulumi-nodejs:dynamic/keyvault:KeyBackup");
        assert.equal(reg.inputs.vaultUrl, "https://prodvault.vault.azure.net");
        assert.equal(reg.inputs.keyName, "signing");
        assert.equal(reg.inputs.keyVersion, "8e5f618e13274533a13dd3008093b577");
        const key = { properties: { keyUriWithVersion: "https://v1.vault.azure.net/keys/a/b" } };
        assert.throws(() => new KeyBackup("x", { key, keyName: "a" }), /KeyBackup: pass either "key" or "keyName", not both/);
    });

    it("refuses `secret` together with vaultUrl/secretName/secretVersion, naming the input", () => {
        const secret = { properties: { secretUriWithVersion: "https://v1.vault.azure.net/secrets/a/b" } };
        assert.throws(() => new SecretBackup("x", { secret, secretName: "a" }), /pass either "secret" or "secretName", not both/);
    });

    it("parseSecretUri splits versioned URIs and rejects other shapes", () => {
        assert.deepEqual(parseSecretUri("https://v1.vault.azure.net/secrets/a-b/0123"), { vaultUrl: "https://v1.vault.azure.net", secretName: "a-b", secretVersion: "0123" });
        assert.deepEqual(parseSecretUri("https://127.0.0.1:4000/secrets/a"), { vaultUrl: "https://127.0.0.1:4000", secretName: "a", secretVersion: "" });
        assert.throws(() => parseSecretUri("https://v1.vault.azure.net/keys/a/1"), /is not a Key Vault secret URI/);
    });

    it("operationsModuleId: the package path under node_modules (plain, scoped, pnpm), else relative to the project root", () => {
        const p = (...s: string[]) => path.join(path.sep, ...s);
        assert.equal(operationsModuleId(p("app", "node_modules", "pulumi-keyvault-backup", "dist", "provider"), p("app")), "pulumi-keyvault-backup/dist/provider/operations");
        assert.equal(operationsModuleId(p("app", "node_modules", "@acme", "kvb", "dist", "provider"), p("app")), "@acme/kvb/dist/provider/operations");
        assert.equal(operationsModuleId(p("app", "node_modules", ".pnpm", "x@1", "node_modules", "pulumi-keyvault-backup", "dist", "provider"), p("app")), "pulumi-keyvault-backup/dist/provider/operations");
        assert.equal(operationsModuleId(p("repo", "dist", "provider"), p("repo")), "./dist/provider/operations");
        assert.equal(operationsModuleId(p("repo", "dist", "provider"), p("repo", "examples", "local")), "../../dist/provider/operations");
    });

    describe("loaded by the real provider host", function () {
        this.timeout(120_000);
        let project: string;
        const hosts: ProviderHost[] = [];
        before(() => {
            // A user's project: this package and @pulumi/pulumi installed under its node_modules.
            project = uniqueFolder("nm-project");
            fs.mkdirSync(path.join(project, "node_modules"), { recursive: true });
            fs.symlinkSync(repoRoot, path.join(project, "node_modules", "pulumi-keyvault-backup"), "dir");
            fs.symlinkSync(path.join(repoRoot, "node_modules", "@pulumi"), path.join(project, "node_modules", "@pulumi"), "dir");
        });
        after(async () => {
            for (const h of hosts) await h.stop();
            fs.rmSync(project, { recursive: true, force: true });
        });

        for (const style of ["node_modules", "repository"] as const) {
            it(`${style} style: the host deserializes __provider, requires operations from its cwd and runs check`, async () => {
                const moduleId = style === "node_modules" ? "pulumi-keyvault-backup/dist/provider/operations" : "./dist/provider/operations";
                const root = style === "node_modules" ? project : repoRoot;
                // Serialized exactly as pulumi.dynamic.Resource does it: a function returning the provider object.
                const provider = makeProvider(moduleId);
                const providerText = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
                process.stdout.write(`      (__provider, ${style} style: ${providerText.length} bytes)\n`);
                assert.ok(providerText.length < LIMIT);
                const host = await ProviderHost.start({ projectRoot: root, project: "kvb" });
                hosts.push(host);
                await host.configure({});
                const { failures } = await host.check("urn:pulumi:test::kvb::pulumi-nodejs:dynamic/keyvault:SecretBackup::x", {}, {
                    __provider: providerText, vaultUrl: "http://myvault.vault.azure.net", secretName: "a_b",
                });
                assert.deepEqual(failures.map((f) => f.property), ["vaultUrl", "secretName"]);
            });
        }
    });
});
