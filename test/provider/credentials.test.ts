import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import { credentialSettings, createCredential } from "../../provider/credentials";
import { relaxChallengeVerification } from "../../provider/vault-client";
import * as ops from "../../provider/operations";
import type { RunningEmulator } from "../../emulator";
import { startTestEmulator, secretClientFor, uniqueName } from "../helpers/emulator";
import { scratchRoot } from "../helpers/paths";

const config = (values: Record<string, string>) => ({ get: (k: string) => values[k] });

describe("credentials", () => {
    it("stack config wins over the environment for client id, secret and tenant", () => {
        const env = { AZURE_CLIENT_ID: "env-id", AZURE_CLIENT_SECRET: "env-secret", AZURE_TENANT_ID: "env-tenant" };
        assert.deepEqual(credentialSettings(config({ "azure-native:clientId": "cfg-id", "azure-native:tenantId": "cfg-tenant" }), env), {
            clientId: "cfg-id", clientSecret: "env-secret", tenantId: "cfg-tenant", authorityHost: undefined,
        });
        assert.deepEqual(credentialSettings(undefined, {}), { clientId: undefined, clientSecret: undefined, tenantId: undefined, authorityHost: undefined });
    });

    it("azure-native:environment picks the cloud's authority; AZURE_AUTHORITY_HOST overrides it; an unknown cloud is refused", () => {
        assert.equal(credentialSettings(config({ "azure-native:environment": "china" }), {}).authorityHost, "https://login.chinacloudapi.cn");
        assert.equal(credentialSettings(config({ "azure-native:environment": "usgovernment" }), {}).authorityHost, "https://login.microsoftonline.us");
        assert.equal(credentialSettings(config({ "azure-native:environment": "public" }), { AZURE_AUTHORITY_HOST: "https://127.0.0.1:9" }).authorityHost, "https://127.0.0.1:9");
        assert.throws(() => credentialSettings(config({ "azure-native:environment": "mars" }), {}), /azure-native:environment "mars" is not one of public, usgovernment, china/);
    });

    it("a configured client secret gives a ClientSecretCredential, otherwise DefaultAzureCredential", () => {
        assert.ok(createCredential({ clientId: "a", clientSecret: "s", tenantId: "t" }) instanceof ClientSecretCredential);
        assert.ok(createCredential({ clientId: "a", tenantId: "t" }) instanceof DefaultAzureCredential);
        assert.throws(() => createCredential({ clientSecret: "s" }), /azure-native:clientId or azure-native:tenantId .* is missing/);
    });

    it("challenge-resource verification stays on for every real Key Vault host and is relaxed only for loopback", () => {
        for (const url of ["https://v1.vault.azure.net", "https://v1.vault.azure.cn", "https://v1.vault.usgovcloudapi.net", "https://v1.vault.microsoftazure.de", "https://h1.managedhsm.azure.net"]) {
            assert.equal(relaxChallengeVerification(url), false, url);
        }
        for (const url of ["https://127.0.0.1:8443", "https://localhost:1", "https://[::1]:2"]) assert.equal(relaxChallengeVerification(url), true, url);
    });

    describe("against the emulator", () => {
        let emulator: RunningEmulator;
        const saved: Record<string, string | undefined> = {};
        const keys = ["AZURE_AUTHORITY_HOST", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"];
        let root: string;
        before(async () => {
            emulator = await startTestEmulator();
            for (const k of keys) saved[k] = process.env[k];
            root = path.join(scratchRoot, `cred-${randomBytes(4).toString("hex")}`);
        });
        after(async () => {
            for (const k of keys) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
            await emulator?.close();
            fs.rmSync(root, { recursive: true, force: true });
        });

        it("the environment alone (AZURE_CLIENT_ID/SECRET/TENANT_ID, AZURE_AUTHORITY_HOST) is enough to back up", async () => {
            const p = emulator.principals[0];
            Object.assign(process.env, { AZURE_AUTHORITY_HOST: emulator.authorityHost, AZURE_CLIENT_ID: p.clientId, AZURE_CLIENT_SECRET: p.clientSecret, AZURE_TENANT_ID: emulator.tenantId });
            const name = uniqueName("envcred");
            await secretClientFor(emulator, "demo").setSecret(name, "v");
            ops.configure(config({}));
            const { outs } = await ops.create({ vaultUrl: emulator.vaults.demo, secretName: name, destination: root });
            assert.ok(fs.existsSync(fileURLToPath(outs.location)));
        });

        it("no credential anywhere: DefaultAzureCredential finds none and the error says how to provide one", async () => {
            for (const k of keys) delete process.env[k];
            process.env.AZURE_AUTHORITY_HOST = emulator.authorityHost;
            ops.configure(config({}));
            await assert.rejects(ops.create({ vaultUrl: emulator.vaults.demo, secretName: "nobody", destination: root }), (e: Error) =>
                e.message.startsWith(`backup of secret "nobody" in vault ${emulator.vaults.demo} failed (code CredentialUnavailableError)`) &&
                /\nWhat to do: no usable Azure credential: set azure-native:clientId\/clientSecret\/tenantId/.test(e.message));
        });
    });
});
