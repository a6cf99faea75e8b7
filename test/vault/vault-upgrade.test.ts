import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup } from "../../provider/vault-backup";
import { SecretBackup } from "../../provider/resource";
import { azureNativeConfig, pointAuthorityHostAt, secretClientFor, startTestEmulator } from "../helpers/emulator";
import { LocalEngine, OperationResult, StackState, dynamicOps } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// An existing stack, its state written by main at 5cfac6c (test/host/fixtures/upgrade-5cfac6c:
// a VaultBackup of three secrets and a SecretBackup, recorded with that commit's code), taken
// over by this code: nothing is replaced or backed up again, and rotations are still caught.
const FIXTURE = path.join(repoRoot, "test", "host", "fixtures", "upgrade-5cfac6c");
const TYPE = "pulumi-nodejs:dynamic/keyvault:SecretBackup";

describe("upgrade: a stack made by 5cfac6c's VaultBackup and SecretBackup", function () {
    this.timeout(180_000);
    let emulator: RunningEmulator;
    let client: SecretClient;
    let folder: string;
    let stack: LocalEngine;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        emulator = await startTestEmulator({ vaults: ["upgrade"] });
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
        const vaultUrl = emulator.vaults.upgrade;
        client = secretClientFor(emulator, "upgrade");
        let lastChange = 0;
        for (const n of ["alpha", "beta", "solo"]) lastChange = (await client.setSecret(n, `${n}-upgrade-value`)).properties.updatedOn!.getTime();
        // The recorded backups were taken after their secrets last changed, in a later second (state
        // without a version cannot tell a backup in the change's own second from one that missed a
        // version made later in that second, and takes it again): wait (polling the clock) until the
        // shifted backup times (up to 130 ms before now) fall in a later second here too.
        await waitUntil(() => Date.now() > lastChange + 1200);
        folder = uniqueFolder("upgrade");
        const statePath = path.join(folder, "state.json");
        fs.mkdirSync(path.join(folder, "backups"), { recursive: true });
        for (const f of fs.readdirSync(path.join(FIXTURE, "backups"))) fs.copyFileSync(path.join(FIXTURE, "backups", f), path.join(folder, "backups", f));
        fs.writeFileSync(statePath, relocated(vaultUrl, path.join(folder, "backups")));
        stack = new LocalEngine({
            projectRoot: repoRoot, project: "upgrade-test", stack: "dev", statePath,
            program: () => {
                const vault = new VaultBackup("vault", { vaultUrl, destination: path.join(folder, "backups") });
                const solo = new SecretBackup("solo", { vaultUrl, secretName: "solo", destination: path.join(folder, "backups") });
                return { names: vault.secretNames, solo: solo.location };
            },
            config: azureNativeConfig(emulator, 0), secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    });
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });

    /**
     * The recorded state moved to this run: the vault's address, the backup folder, and each
     * backup's time shifted by as much as the clock moved since the recording (the secrets were
     * set just now, so the backups must be later, as they were when recorded).
     */
    function relocated(vaultUrl: string, backups: string): string {
        const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURE, "recorded.json"), "utf8")) as { vaultUrl: string; backups: string; recordedAt: string };
        const text = fs.readFileSync(path.join(FIXTURE, "state.json"), "utf8").split(recorded.vaultUrl).join(vaultUrl).split(recorded.backups).join(backups);
        const shift = Date.now() - Date.parse(recorded.recordedAt);
        const state = JSON.parse(text) as StackState;
        for (const r of state.resources) {
            if (typeof r.outputs.backedUpAt === "string") r.outputs.backedUpAt = new Date(Date.parse(r.outputs.backedUpAt) + shift).toISOString();
        }
        return JSON.stringify(state, null, 2);
    }

    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }
    const backupCalls = (): number => emulator.requests().filter((r) => r.operation === "backup" && r.status === 200).length;
    const children = (): Record<string, Record<string, unknown>> =>
        Object.fromEntries(stack.state.resources.filter((r) => r.type === TYPE).map((r) => [r.urn.split("::").pop()!, r.outputs]));
    const files = (): string[] => fs.readdirSync(path.join(folder, "backups")).sort();

    it("the recorded state is main's: secret backups without a recorded version, a VaultBackup without kinds", () => {
        const state = JSON.parse(fs.readFileSync(path.join(FIXTURE, "state.json"), "utf8")) as StackState;
        const backups = state.resources.filter((r) => r.type === TYPE);
        assert.deepEqual(backups.map((r) => r.urn.split("::").pop()).sort(), ["solo", "vault/alpha", "vault/beta", "vault/solo"]);
        for (const r of backups) assert.ok(!("version" in r.outputs) && !("sourceUpdatedOn" in r.inputs), r.urn);
        assert.ok(!("kinds" in state.resources.find((r) => r.type.endsWith("VaultBackup"))!.inputs));
    });

    it("preview and up change nothing: every backup is the same, none is taken, no file is written", async () => {
        const before = { calls: backupCalls(), files: files(), children: children() };
        const preview = ok(await stack.preview());
        assert.deepEqual(dynamicOps(preview), ["same", "same", "same", "same"]);
        const up = ok(await stack.up());
        assert.deepEqual(dynamicOps(up), ["same", "same", "same", "same"]);
        assert.equal(backupCalls(), before.calls);
        assert.deepEqual(files(), before.files);
        assert.deepEqual(children(), before.children);
        assert.doesNotMatch(up.hostStdout, /a new backup is due/);
        assert.deepEqual(up.exports.names, ["alpha", "beta", "solo"]);
    });

    it("a secret rotated after the upgrade: a plain up backs up exactly that one, and says why", async () => {
        await client.setSecret("alpha", "alpha-rotated-value");
        const before = children();
        const calls = backupCalls();
        const up = ok(await stack.up());
        const ops = Object.fromEntries(up.steps.filter((s) => s.type === TYPE).map((s) => [s.urn.split("::").pop(), s.op]));
        assert.deepEqual(ops, { "vault/alpha": "update", "vault/beta": "same", "vault/solo": "same", solo: "same" });
        assert.equal(backupCalls(), calls + 1);
        assert.match(up.hostStdout, /SecretBackup of secret "alpha": a new backup is due: the vault lists it as changed at \S+, after the version the backup holds \(\S+\): a new version in the vault/);
        const after = children();
        assert.notEqual(after["vault/alpha"].location, before["vault/alpha"].location);
        assert.equal(after["vault/alpha"].version, "", "the listing's time stands in for the version until a refresh");
        assert.match(String(after["vault/alpha"].versionUpdatedOn), /^\d{4}-\d\d-\d\dT/);
        assert.deepEqual(after["vault/beta"], before["vault/beta"]);
    });

    it("refresh of an upgraded SecretBackup notices a rotation from the backup time, and the next up backs it up", async () => {
        await client.setSecret("solo", "solo-rotated-value");
        const refresh = ok(await stack.refresh());
        const changed = Object.fromEntries(refresh.steps.filter((s) => s.type === TYPE).map((s) => [s.urn.split("::").pop(), s.changed]));
        assert.deepEqual(changed.solo, ["newerVersion"]);
        assert.match(refresh.hostStdout + refresh.hostStderr, /secret "solo" in \S+ has a new version [0-9a-f]{32} since its backup \(which holds an older one\)/);
        const up = ok(await stack.up());
        const ops = Object.fromEntries(up.steps.filter((s) => s.type === TYPE).map((s) => [s.urn.split("::").pop(), s.op]));
        assert.equal(ops.solo, "update");
        assert.equal(ops["vault/solo"], "update");
        assert.equal(ops["vault/beta"], "same");
    });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error("condition not met in time");
        await new Promise((r) => setTimeout(r, 20));
    }
}
