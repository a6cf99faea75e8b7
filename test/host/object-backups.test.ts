import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { CertificateBackup, KeyBackup } from "../../provider/resource";
import { restoreBackup } from "../../provider/restore";
import { azureNativeConfig, certificateClientFor, credentialFor, keyClientFor, pointAuthorityHostAt, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, dynamicOps } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// KeyBackup and CertificateBackup driven as `pulumi preview/up/refresh/destroy` drive them: the
// program under mocks, every call through the real dynamic-provider host, against the emulator.
const VAULT = "objects";
const RESTORED = "objects-restored";

interface KindCase {
    kind: "key" | "certificate";
    resource: string;
    type: string;
    /** The backup file's name ends so. */
    suffix: RegExp;
    nameOutput: string;
    declare(name: string, args: { vaultUrl: string; destination: string }): { location: unknown; version: unknown };
    /** Makes the object (or a new version of it) in the vault; resolves with the new current version. */
    newVersion(emulator: RunningEmulator, vault: string, name: string): Promise<string>;
}

const CASES: KindCase[] = [
    {
        kind: "key", resource: "KeyBackup", type: "pulumi-nodejs:dynamic/keyvault:KeyBackup", suffix: /\.key\.kvbackup$/, nameOutput: "keyName",
        declare: (name, args) => new KeyBackup(name, { ...args, keyName: name }),
        newVersion: async (emulator, vault, name) => (await keyClientFor(emulator, vault).createRsaKey(name)).properties.version!,
    },
    {
        kind: "certificate", resource: "CertificateBackup", type: "pulumi-nodejs:dynamic/keyvault:CertificateBackup", suffix: /\.certificate\.kvbackup$/, nameOutput: "certificateName",
        declare: (name, args) => new CertificateBackup(name, { ...args, certificateName: name }),
        newVersion: async (emulator, vault, name) => {
            const poller = await certificateClientFor(emulator, vault).beginCreateCertificate(name, { issuerName: "Self", subject: `CN=${name}` }, { intervalInMs: 50 });
            return (await poller.pollUntilDone()).properties.version!;
        },
    },
];

describe("KeyBackup and CertificateBackup through the real provider host", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        emulator = await startTestEmulator({ vaults: [VAULT, RESTORED] });
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });

    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }
    const filesIn = (folder: string): string[] => (fs.existsSync(folder) ? fs.readdirSync(folder).sort() : []);
    const sha256Of = (file: string): string => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

    for (const c of CASES) {
        describe(`${c.resource}: preview, up, up again, rotation, refresh drift, destroy`, () => {
            const plural = `${c.kind === "key" ? "keys" : "certificates"}`;
            let name: string;
            let folder: string;
            let stack: LocalEngine;
            let firstVersion: string;
            let firstLocation: string;
            const backupCalls = (): number => emulator.requests().filter((r) => r.path === `/${plural}/${name}/backup` && r.status === 200).length;
            const state = () => stack.state.resources.find((r) => r.type === c.type);

            before(async () => {
                name = uniqueName(c.kind);
                folder = uniqueFolder(`host-${c.kind}`);
                firstVersion = await c.newVersion(emulator, VAULT, name);
                stack = new LocalEngine({
                    projectRoot: repoRoot, project: "object-backups", stack: uniqueName("st"),
                    program: () => {
                        const b = c.declare(name, { vaultUrl: emulator.vaults[VAULT], destination: folder });
                        return { location: b.location, version: b.version };
                    },
                    config: azureNativeConfig(emulator, 0), secretKeys: ["azure-native:clientSecret"],
                    env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
                });
            });

            it("preview plans a create and calls no Key Vault operation", async () => {
                const before = emulator.requests().length;
                assert.deepEqual(dynamicOps(ok(await stack.preview())), ["create"]);
                assert.equal(emulator.requests().length, before);
                assert.deepEqual(filesIn(folder), []);
            });

            it(`up backs the ${c.kind} up once into a 0600 ${c.suffix.source.replace(/\\/g, "")} file and records the version it holds`, async () => {
                const calls = backupCalls();
                const up = ok(await stack.up());
                assert.deepEqual(dynamicOps(up), ["create"]);
                assert.equal(backupCalls(), calls + 1);
                const outs = state()!.outputs;
                firstLocation = String(outs.location);
                const file = fileURLToPath(firstLocation);
                assert.match(path.basename(file), c.suffix);
                assert.equal(fs.statSync(file).mode & 0o777, 0o600);
                assert.equal(outs.sha256, sha256Of(file));
                assert.equal(outs[c.nameOutput], name);
                assert.equal(outs.version, firstVersion);
                assert.equal(up.exports.version, firstVersion);
                assert.match(up.hostStdout, new RegExp(`backed up ${c.kind} "${name}": \\d+ bytes, sha256 ${String(outs.sha256).slice(0, 12)}`));
            });

            it("a second up finds no diff and takes no backup", async () => {
                const calls = backupCalls();
                assert.deepEqual(dynamicOps(ok(await stack.up())), ["same"]);
                assert.equal(backupCalls(), calls);
            });

            it("a new version in the vault: refresh reports it, preview says why, up backs up again and keeps the earlier file", async () => {
                const rotated = await c.newVersion(emulator, VAULT, name);
                const refresh = ok(await stack.refresh());
                assert.deepEqual(refresh.steps.find((s) => s.type === c.type)?.changed, ["newerVersion"]);
                assert.match(refresh.hostStdout + refresh.hostStderr, new RegExp(`${c.kind} "${name}" in \\S+ has a new version ${rotated} since its backup \\(which holds ${firstVersion}\\)`));
                const preview = ok(await stack.preview());
                assert.deepEqual(dynamicOps(preview), ["update"]);
                assert.match(preview.hostStdout, new RegExp(`${c.resource} of ${c.kind} "${name}": a new backup is due: a new version ${rotated} in the vault \\(the backup holds ${firstVersion}\\)`));
                const calls = backupCalls();
                const up = ok(await stack.up());
                assert.deepEqual(dynamicOps(up), ["update"]);
                assert.equal(backupCalls(), calls + 1);
                assert.equal(state()!.outputs.version, rotated);
                assert.equal(state()!.outputs.newerVersion, undefined);
                assert.equal(filesIn(folder).length, 2);
                assert.ok(fs.existsSync(fileURLToPath(firstLocation)), "the earlier backup is kept");
                assert.match(up.hostStdout, new RegExp(`; the earlier backup stays at ${firstLocation}`));
            });

            it("refresh after the file was deleted reports it; the next up backs up without claiming the deleted file stays", async () => {
                const location = String(state()!.outputs.location);
                fs.unlinkSync(fileURLToPath(location));
                const refresh = ok(await stack.refresh());
                assert.deepEqual(refresh.steps.find((s) => s.type === c.type)?.changed, ["sha256"]);
                const up = ok(await stack.up());
                assert.deepEqual(dynamicOps(up), ["update"]);
                assert.doesNotMatch(up.hostStdout, /the earlier backup stays at/);
                assert.match(up.hostStdout, new RegExp(`refresh found the earlier backup ${location} missing or changed`));
                assert.equal(state()!.outputs.sha256, sha256Of(fileURLToPath(String(state()!.outputs.location))));
            });

            it("the backup restores: restoreBackup from the file into an empty vault brings back the same version", async () => {
                const restored = await restoreBackup({ from: String(state()!.outputs.location), vaultUrl: emulator.vaults[RESTORED], credential: credentialFor(emulator) });
                assert.equal(restored.kind, c.kind);
                assert.equal(restored.secretName, name);
                assert.equal(restored.id, `${emulator.vaults[RESTORED]}/${plural}/${name}/${String(state()!.outputs.version)}`);
            });

            it("destroy forgets the resource and keeps every backup file", async () => {
                const files = filesIn(folder);
                const destroy = ok(await stack.destroy());
                assert.deepEqual(dynamicOps(destroy), ["delete"]);
                assert.deepEqual(filesIn(folder), files);
                assert.match(destroy.hostStdout, new RegExp(`${c.resource} of ${c.kind} "${name}" removed from the stack; its backup stays at file://`));
            });
        });
    }
});
