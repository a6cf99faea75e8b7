import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, ProviderHost, ResourceState, assertGone, dynamicOps } from "../helpers/host";
import { runProgram, uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";
import { fakeAzOnPath } from "../helpers/fake-az";

// SecretBackup driven the way `pulumi preview/up/refresh/destroy` drive it: the root program run
// by @pulumi/pulumi's own runner (cmd/run), every call through the real dynamic-provider host over
// gRPC, against the emulator.
const VAULT = "hostlife";
const TYPE = "pulumi-nodejs:dynamic/keyvault:SecretBackup";
const rootProgram = path.join(repoRoot, "dist", "program", "index.js");

describe("SecretBackup through the real provider host", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let client: SecretClient;
    let vaultUrl: string;

    before(async () => {
        emulator = await startTestEmulator({ vaults: [VAULT] });
        vaultUrl = emulator.vaults[VAULT];
        client = secretClientFor(emulator, VAULT);
    });
    after(async () => emulator?.close());

    /** Stack config: the root program's keys plus the `azure-native:*` credentials of principal `principal`. */
    function stackConfig(secrets: unknown[], destination: string, principal = 0): Record<string, string> {
        return azureNativeConfig(emulator, principal, {
            "keyvault-backup:vaultUrl": vaultUrl,
            "keyvault-backup:secrets": JSON.stringify(secrets),
            "keyvault-backup:destination": destination,
        });
    }

    function rootStack(config: Record<string, string>, program: string = rootProgram): LocalEngine {
        return new LocalEngine({
            projectRoot: repoRoot, project: "keyvault-backup", stack: uniqueName("st"), program, config,
            secretKeys: ["azure-native:clientSecret"], env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    }

    // Answered backups (the SDK's first, unauthenticated request of a client gets the 401 challenge).
    const backupCalls = (): number => emulator.requests().filter((r) => r.operation === "backup" && r.status === 200).length;
    const backups = (stack: LocalEngine): ResourceState[] => stack.state.resources.filter((r) => r.type === TYPE);
    const filesIn = (folder: string): string[] => (fs.existsSync(folder) ? fs.readdirSync(folder).sort() : []);
    const sha256Of = (file: string): string => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }

    describe("one backup's life: preview, up, up again, trigger and version changes, refresh, destroy", () => {
        // The steps share one stack and run in order, as a user's commands would.
        let secretName: string;
        let folder: string;
        let stack: LocalEngine;
        let secretValues: string[];
        let firstLocation: string;

        before(async () => {
            secretName = uniqueName("db");
            folder = uniqueFolder("host-life");
            secretValues = [`v1-${uniqueName("value")}`];
            await client.setSecret(secretName, secretValues[0]);
            stack = rootStack(stackConfig([secretName], folder));
        });

        it("preview of a new stack checks the inputs and calls no Key Vault operation", async () => {
            const before = emulator.requests().length;
            const preview = ok(await stack.preview());
            assert.deepEqual(dynamicOps(preview), ["create"]);
            assert.equal(emulator.requests().length, before, "preview made no vault request");
            assert.deepEqual(filesIn(folder), []);
        });

        it("first up backs the secret up: one Backup Secret call, the file written, the state and exports right", async () => {
            const calls = backupCalls();
            const up = ok(await stack.up());
            assert.deepEqual(dynamicOps(up), ["create"]);
            assert.equal(backupCalls(), calls + 1);
            const [state] = backups(stack);
            const outs = state.outputs;
            firstLocation = String(outs.location);
            const file = fileURLToPath(firstLocation);
            assert.equal(path.dirname(file), folder);
            assert.equal(outs.sha256, sha256Of(file));
            assert.equal(outs.sizeBytes, fs.statSync(file).size);
            assert.equal(outs.vaultUrl, vaultUrl);
            assert.equal(outs.secretName, secretName);
            assert.equal(outs.apiVersion, "7.4");
            assert.match(String(outs.backedUpAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
            assert.match(outs.requestId as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            const exported = (up.exports.backups as Record<string, Record<string, unknown>>)[secretName];
            assert.deepEqual(exported, { location: outs.location, sha256: outs.sha256, sizeBytes: outs.sizeBytes });
            assert.match(up.hostStdout, new RegExp(`backed up secret "${secretName}": \\d+ bytes, sha256 ${String(outs.sha256).slice(0, 12)}`));
            const everything = JSON.stringify(stack.state) + up.hostStdout + up.hostStderr;
            assert.ok(!everything.includes(secretValues[0]), "no secret value in state or logs");
            assert.ok(!everything.includes(emulator.principals[0].clientSecret), "no client secret in state or logs");
        });

        it("a second up with nothing changed finds no diff and takes no backup", async () => {
            const calls = backupCalls();
            const files = filesIn(folder);
            const up = ok(await stack.up());
            assert.deepEqual(dynamicOps(up), ["same"]);
            assert.equal(backupCalls(), calls);
            assert.deepEqual(filesIn(folder), files);
        });

        it("a trigger change updates: a new backup in a new file, the earlier file kept as it was", async () => {
            const before = sha256Of(fileURLToPath(firstLocation));
            stack.setConfig("keyvault-backup:triggers", JSON.stringify(["rotation-1"]));
            const up = ok(await stack.up());
            assert.deepEqual(dynamicOps(up), ["update"]);
            assert.equal(filesIn(folder).length, 2);
            assert.notEqual(backups(stack)[0].outputs.location, firstLocation);
            assert.equal(sha256Of(fileURLToPath(firstLocation)), before, "the earlier backup is untouched");
        });

        it("a new secret version, pinned in config, updates with a backup that holds it", async () => {
            secretValues.push(`v2-${uniqueName("value")}`);
            const version = (await client.setSecret(secretName, secretValues[1])).properties.version;
            stack.setConfig("keyvault-backup:secrets", JSON.stringify([{ name: secretName, version }]));
            const calls = backupCalls();
            const up = ok(await stack.up());
            assert.deepEqual(dynamicOps(up), ["update"]);
            assert.equal(backupCalls(), calls + 1);
            assert.equal(filesIn(folder).length, 3);
            assert.equal(backups(stack)[0].outputs.secretVersion, version);
        });

        it("refresh after the backup file was deleted reports the drift, and the next up backs up again", async () => {
            const location = String(backups(stack)[0].outputs.location);
            fs.unlinkSync(fileURLToPath(location));
            const refresh = ok(await stack.refresh());
            const step = refresh.steps.find((s) => s.type === TYPE);
            assert.deepEqual(step?.changed, ["sha256"]);
            assert.equal(backups(stack)[0].outputs.sha256, "");
            assert.match(refresh.hostStdout + refresh.hostStderr, /is missing; the next update takes a fresh backup/);
            const up = ok(await stack.up());
            assert.deepEqual(dynamicOps(up), ["update"]);
            const now = String(backups(stack)[0].outputs.location);
            assert.notEqual(now, location);
            assert.equal(backups(stack)[0].outputs.sha256, sha256Of(fileURLToPath(now)));
        });

        it("refresh after the backup file was altered reports the drift", async () => {
            const file = fileURLToPath(String(backups(stack)[0].outputs.location));
            fs.chmodSync(file, 0o600);
            fs.appendFileSync(file, "x");
            const refresh = ok(await stack.refresh());
            assert.deepEqual(refresh.steps.find((s) => s.type === TYPE)?.changed, ["sha256"]);
            assert.match(refresh.hostStdout + refresh.hostStderr, /is changed \(hash differs\)/);
        });

        it("destroy removes the resource from the stack and keeps every backup file", async () => {
            const files = filesIn(folder);
            const destroy = ok(await stack.destroy());
            assert.deepEqual(dynamicOps(destroy), ["delete"]);
            assert.deepEqual(backups(stack), []);
            assert.deepEqual(filesIn(folder), files);
            assert.match(destroy.hostStdout, new RegExp(`SecretBackup of secret "${secretName}" removed from the stack; its backup stays at file://`));
        });
    });

    it("a secret created in the same program: its unknown version passes Check and Diff in preview, and its new version takes a backup", async () => {
        const secretName = uniqueName("created");
        let version = (await client.setSecret(secretName, "first-value")).properties.version!;
        let unknownInPreview = false;
        const folder = uniqueFolder("host-created");
        const stack = new LocalEngine({
            projectRoot: repoRoot, project: "fixture", stack: uniqueName("st"),
            program: path.join(__dirname, "fixtures", "created-secret-program.js"),
            config: { ...credentialsConfig(0), "fixture:secretName": secretName, "fixture:destination": folder, "fixture:revision": "1" },
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
            // What azure-native's provider would answer: the secret's versioned URI, unknown while a change is previewed.
            otherResources: (reg, preview) => ({
                id: secretName,
                state: preview && unknownInPreview ? {} : { ...reg.inputs, properties: { secretUriWithVersion: `${vaultUrl}/secrets/${secretName}/${version}` } },
            }),
        });
        ok(await stack.up());
        assert.equal(backups(stack)[0].outputs.secretVersion, version);

        version = (await client.setSecret(secretName, "second-value")).properties.version!;
        unknownInPreview = true;
        stack.setConfig("fixture:revision", "2");
        const requests = emulator.requests().length;
        const preview = ok(await stack.preview());
        assert.deepEqual(dynamicOps(preview), ["update"], "Diff with unknown inputs reports a change");
        assert.equal(emulator.requests().length, requests, "preview made no vault request");

        const up = ok(await stack.up());
        assert.deepEqual(dynamicOps(up), ["update"]);
        assert.equal(backups(stack)[0].outputs.secretVersion, version);
        assert.equal(filesIn(folder).length, 2);
    });

    it("a vault error fails up with Key Vault's full message through gRPC, and nothing is written or kept in state", async () => {
        const missing = uniqueName("missing");
        const folder = uniqueFolder("host-404");
        const stack = rootStack(stackConfig([missing], folder));
        const up = await stack.up();
        assert.match(up.error ?? "", /create failed \(gRPC 2\): backup of secret "missing-\w+" in vault https:\/\/127\.0\.0\.1:\d+ failed \(HTTP 404, code SecretNotFound, request id [\w-]+\): .+\nWhat to do: check that the secret/);
        assert.deepEqual(backups(stack), []);
        assert.deepEqual(filesIn(folder), []);
    });

    it("azure-native:* config reaches the provider through Configure: a principal without backup permission gets 403", async () => {
        const secretName = uniqueName("perm");
        await client.setSecret(secretName, "value");
        const stack = rootStack(stackConfig([secretName], uniqueFolder("host-403"), 1));
        const up = await stack.up();
        assert.match(up.error ?? "", /HTTP 403, code Forbidden.*\nWhat to do: grant the identity the secrets "backup" permission/s);
        assert.ok(!(up.error ?? "").includes(emulator.principals[1].clientSecret));
        assert.ok(!(up.hostStdout + up.hostStderr).includes(emulator.principals[1].clientSecret));
    });

    it("without a configured credential the host says so, and never consults an Azure CLI on PATH", async () => {
        const secretName = uniqueName("nocred");
        await client.setSecret(secretName, "value");
        const folder = uniqueFolder("host-nocred");
        const az = fakeAzOnPath();
        try {
            const stack = new LocalEngine({
                projectRoot: repoRoot, project: "keyvault-backup", stack: uniqueName("st"), program: rootProgram,
                config: { "keyvault-backup:vaultUrl": vaultUrl, "keyvault-backup:secrets": JSON.stringify([secretName]), "keyvault-backup:destination": folder },
                env: { AZURE_AUTHORITY_HOST: emulator.authorityHost, ...az.env },
            });
            const up = await stack.up();
            assert.match(up.error ?? "", /failed \(code CredentialUnavailableError\): .*\nWhat to do: no usable Azure credential/s);
            assert.deepEqual(az.calls(), [], "the fake az first on the host's PATH was not called");
            assert.deepEqual(filesIn(folder), []);
        } finally {
            az.remove();
        }
    });

    it("bad input comes back from Check as failures, one per property, and preview shows them", async () => {
        const config = { ...stackConfig(["bad_name!"], uniqueFolder("host-bad")), "keyvault-backup:vaultUrl": "http://example.com" };
        const registration = (await runProgram(rootProgram, {
            project: "keyvault-backup", stack: "dev", config, preview: true,
            register: async (reg) => ({ id: "", state: reg.inputs }),
        })).registrations.find((r) => r.type === TYPE)!;
        const host = await ProviderHost.start({ projectRoot: repoRoot, project: "keyvault-backup", config });
        try {
            await host.configure(config);
            const checked = await host.check(registration.urn, {}, { ...registration.inputs, apiVersion: "1.0" });
            assert.deepEqual(checked.failures.map((f) => f.property).sort(), ["apiVersion", "secretName", "vaultUrl"]);
            for (const f of checked.failures) assert.match(f.reason, /\S{10}/);
        } finally {
            await host.stop();
        }
        assertGone(host.pid);
        const preview = await rootStack(config).preview();
        assert.match(preview.error ?? "", /invalid inputs:\n\s+vaultUrl: .+\n\s+secretName: .+/);
    });

    const credentialsConfig = (principal: number): Record<string, string> => azureNativeConfig(emulator, principal);
});
