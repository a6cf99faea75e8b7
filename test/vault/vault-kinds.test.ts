import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup, type BackedUpObject, type VaultBackupArgs } from "../../provider/vault-backup";
import { azureNativeConfig, certificateClientFor, keyClientFor, pointAuthorityHostAt, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, dynamicOps } from "../helpers/host";
import { programError as programErrorOf, uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// VaultBackup over a vault holding secrets, keys and a certificate (whose managed key and secret
// are listed too), driven as `pulumi preview/up` would through the real provider host.
const VAULT = "every-kind";
const TYPES = /^pulumi-nodejs:dynamic\/keyvault:(Secret|Key|Certificate)Backup$/;

describe("VaultBackup over secrets, keys and certificates", function () {
    this.timeout(180_000);
    let emulator: RunningEmulator;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        emulator = await startTestEmulator({
            seed: {
                principals: [{ clientId: randomUUID(), clientSecret: "every-kind-client-secret", permissions: ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"] }],
                vaults: {
                    [VAULT]: {
                        secrets: { "s-one": "s-one-value-k2j3", "s-two": "s-two-value-h4g5", "s-off": { value: "s-off-value-f6d7", enabled: false } },
                        keys: { "k-one": { kty: "RSA" }, "k-two": { kty: "EC", crv: "P-256" } },
                    },
                },
            },
        });
        const poller = await certificateClientFor(emulator, VAULT).beginCreateCertificate("c-one", { issuerName: "Self", subject: "CN=c-one" }, { intervalInMs: 50 });
        await poller.pollUntilDone();
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });

    function stack(args: Omit<VaultBackupArgs, "vaultUrl">): LocalEngine {
        return new LocalEngine({
            projectRoot: repoRoot, project: "vault-kinds", stack: uniqueName("st"),
            program: () => {
                const vault = new VaultBackup("nightly", { vaultUrl: emulator.vaults[VAULT], ...args });
                return { objects: vault.objects, secretNames: vault.secretNames, skippedByKind: vault.skippedByKind };
            },
            config: azureNativeConfig(emulator, 0), secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    }
    function ok(result: OperationResult): OperationResult {
        assert.equal(result.error, undefined, `${result.error}\nhost stderr: ${result.hostStderr}`);
        return result;
    }
    const backups = (): Array<{ path: string; status: number }> => emulator.requests().filter((r) => /\/backup$/.test(r.path) && r.status !== 401);
    const opsByChild = (result: OperationResult): Record<string, string> =>
        Object.fromEntries(result.steps.filter((s) => TYPES.test(s.type)).map((s) => [s.urn.split("::").pop()!, s.op]));

    describe("one stack: preview, up, rotation of one secret and one key, up again", () => {
        let s: LocalEngine;
        let folder: string;
        let first: Record<string, Record<string, BackedUpObject>>;

        before(() => {
            folder = uniqueFolder("vault-kinds");
            s = stack({ destination: folder });
        });

        it("preview plans one backup per own object, skips the certificate's managed key and secret in one info line, and does not say anything was backed up", async () => {
            const calls = backups().length;
            const preview = ok(await s.preview());
            // What the program logged (pulumi.log reaches the engine, which shows it under the component).
            const printed = preview.diagnostics.map((d) => `${d.severity}: ${d.message}`).join("\n");
            assert.deepEqual(Object.keys(opsByChild(preview)).sort(), ["nightly/certificates/c-one", "nightly/keys/k-one", "nightly/keys/k-two", "nightly/s-one", "nightly/s-two"]);
            assert.equal(backups().length, calls, "a preview takes no backup");
            assert.equal(fs.existsSync(folder), false);
            assert.match(printed, new RegExp(`info: ${emulator.vaults[VAULT]}: listed 4 secrets, 3 keys, 1 certificate; 5 due \\(5 new\\), 0 unchanged \\(a preview takes no backup\\)`));
            assert.doesNotMatch(printed, /listed[^\n]*\d+ backed up/, "no claim that anything was backed up");
            assert.match(printed, /info: 2 managed keys and secrets skipped: each belongs to a certificate, whose backup holds it/);
            assert.match(printed, /warning: not backed up because their current version is disabled \(set includeDisabled to try them\): s-off/);
        });

        it("up backs up every own object with one vault call each, and outputs per kind and name the location and sha256; refresh fills in the version held", async () => {
            const callsBefore = emulator.requests().length;
            const up = ok(await s.up());
            const upCalls = emulator.requests().slice(callsBefore).filter((r) => r.status !== 401);
            // The listing VaultBackup made while the program ran tells rotations apart: no object's versions are listed.
            assert.deepEqual(upCalls.filter((r) => /\/versions$/.test(r.path)).map((r) => r.path), []);
            assert.deepEqual(Object.values(opsByChild(up)), ["create", "create", "create", "create", "create"]);
            first = up.exports.objects as Record<string, Record<string, BackedUpObject>>;
            assert.deepEqual(Object.keys(first.secret).sort(), ["s-one", "s-two"]);
            assert.deepEqual(Object.keys(first.key).sort(), ["k-one", "k-two"]);
            assert.deepEqual(Object.keys(first.certificate), ["c-one"]);
            assert.deepEqual(up.exports.skippedByKind, { secret: ["s-off"], key: [], certificate: [] });
            const current = {
                secret: async (n: string) => (await secretClientFor(emulator, VAULT).getSecret(n)).properties.version,
                key: async (n: string) => (await keyClientFor(emulator, VAULT).getKey(n)).properties.version,
                certificate: async (n: string) => (await certificateClientFor(emulator, VAULT).getCertificate(n)).properties.version,
            };
            const suffix = { secret: /_\d{8}T\d{9}Z_[0-9a-f]{12}\.kvbackup$/, key: /\.key\.kvbackup$/, certificate: /\.certificate\.kvbackup$/ };
            for (const kind of ["secret", "key", "certificate"] as const) {
                for (const [name, o] of Object.entries(first[kind])) {
                    const file = fileURLToPath(o.location);
                    assert.match(path.basename(file), suffix[kind]);
                    assert.equal(o.sha256, createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
                    assert.equal(o.version, "", `${kind} ${name}: not listed, so not known yet`);
                }
            }
            const refresh = ok(await s.refresh());
            const refreshed = Object.fromEntries(refresh.steps.filter((r) => TYPES.test(r.type)).map((r) => [r.urn.split("::").pop(), r.changed]));
            assert.deepEqual(Object.values(refreshed), [["version"], ["version"], ["version"], ["version"], ["version"]]);
            for (const r of s.state.resources.filter((x) => TYPES.test(x.type))) {
                const kind = (["secret", "key", "certificate"] as const).find((k) => `${k}Name` in r.outputs)!;
                assert.equal(r.outputs.version, await current[kind](String(r.outputs[`${kind}Name`])), r.urn);
                assert.equal("newerVersion" in r.outputs, false, r.urn);
            }
            assert.ok(!backups().some((r) => r.path === "/keys/c-one/backup" || r.path === "/secrets/c-one/backup"), "the managed key and secret were not tried");
            assert.doesNotMatch(JSON.stringify(s.state) + up.hostStdout, /s-one-value-k2j3|s-two-value-h4g5|every-kind-client-secret/);
        });

        it("a secret and a key rotated between two ups: a plain up backs up exactly those two", async () => {
            await secretClientFor(emulator, VAULT).setSecret("s-one", "s-one-rotated-a8b9");
            const rotatedKey = (await keyClientFor(emulator, VAULT).createEcKey("k-two", { curve: "P-256" })).properties.version!;
            // Preview says how many are due and why, and how many are unchanged (issue 19, bug 9).
            const preview = ok(await s.preview());
            const said = preview.diagnostics.map((d) => `${d.severity}: ${d.message}`).join("\n");
            assert.match(said, new RegExp(`info: ${emulator.vaults[VAULT]}: listed 4 secrets, 3 keys, 1 certificate; 2 due \\(2 changed: each one's line says why\\), 3 unchanged \\(a preview takes no backup\\)`));
            assert.match(preview.hostStdout, /SecretBackup of secret "s-one": a new backup is due: the vault lists it as changed at \S+, after the version the backup holds/);
            assert.match(preview.hostStdout, /KeyBackup of key "k-two": a new backup is due: the vault lists it as changed at \S+, after the version the backup holds/);
            const calls = backups().length;
            const up = ok(await s.up());
            assert.deepEqual(opsByChild(up), {
                "nightly/s-one": "update", "nightly/s-two": "same", "nightly/keys/k-one": "same", "nightly/keys/k-two": "update", "nightly/certificates/c-one": "same",
            });
            assert.deepEqual(backups().slice(calls).map((r) => r.path).sort(), ["/keys/k-two/backup", "/secrets/s-one/backup"]);
            const now = up.exports.objects as Record<string, Record<string, BackedUpObject>>;
            assert.equal(now.key["k-two"].version, "", "a new backup's version is known after the next refresh");
            assert.equal(now.key["k-one"].version.length, 32, "a backup not retaken keeps the version refresh found");
            const refresh = ok(await s.refresh());
            assert.deepEqual(refresh.steps.filter((r) => r.changed?.length).map((r) => [r.urn.split("::").pop(), r.changed]), [["nightly/s-one", ["version"]], ["nightly/keys/k-two", ["version"]]]);
            assert.equal(s.state.resources.find((r) => r.urn.endsWith("::nightly/keys/k-two"))?.outputs.version, rotatedKey);
            assert.notEqual(now.secret["s-one"].location, first.secret["s-one"].location);
            assert.equal(now.key["k-one"].location, first.key["k-one"].location);
            assert.ok(fs.existsSync(fileURLToPath(first.secret["s-one"].location)), "the earlier backup is kept");
            assert.match(up.hostStdout, /KeyBackup of key "k-two": a new backup is due: the vault lists it as changed at \S+, after the version the backup holds/);
        });

        it("a third up with nothing rotated takes no backup", async () => {
            const calls = backups().length;
            const up = ok(await s.up());
            assert.ok(Object.values(opsByChild(up)).every((op) => op === "same"));
            assert.equal(backups().length, calls);
        });

        it("a rotation after a backup whose version is not known yet: refresh reports the new version instead of taking it as the one held", async () => {
            await secretClientFor(emulator, VAULT).setSecret("s-two", "s-two-rotated-c6d7");
            ok(await s.up()); // backs up s-two; its version is known after a refresh
            const child = (): Record<string, unknown> => s.state.resources.find((r) => r.urn.endsWith("::nightly/s-two"))!.outputs;
            assert.equal(child().version, "");
            const newest = (await secretClientFor(emulator, VAULT).setSecret("s-two", "s-two-rotated-e8f9")).properties.version;
            const refresh = ok(await s.refresh());
            assert.deepEqual(refresh.steps.filter((r) => r.changed?.length).map((r) => [r.urn.split("::").pop(), r.changed]), [["nightly/s-two", ["newerVersion"]]]);
            assert.equal(child().newerVersion, newest);
            assert.equal(child().version, "", "the rotated version is not claimed as held");
            const calls = backups().length;
            assert.equal(opsByChild(ok(await s.up()))["nightly/s-two"], "update");
            assert.equal(backups().length, calls + 1);
        });
    });

    it("kinds and per-kind include/exclude choose what is backed up", async () => {
        const up = ok(await stack({ destination: uniqueFolder("vault-kinds-filter"), kinds: ["key", "certificate"], exclude: { key: ["*-one"] } }).up());
        assert.deepEqual(Object.keys(opsByChild(up)).sort(), ["nightly/certificates/c-one", "nightly/keys/k-two"]);
    });

    // Input errors stop the program before anything is listed: no host needed to see them.
    const programError = (args: VaultBackupArgs): Promise<string> => programErrorOf(() => new VaultBackup("vault", args), "vault-kinds");

    it("a vaultUrl given as an Output fails naming the input, saying it must be a plain string and why", async () => {
        const message = await programError({ vaultUrl: pulumi.output(emulator.vaults[VAULT]) as unknown as string });
        assert.match(message, /VaultBackup: vaultUrl must be a plain string, not an Output or a Promise: VaultBackup lists the vault while the program runs/);
    });

    it("an unknown kind, or a per-kind pattern for a kind that does not exist, fails naming the input", async () => {
        assert.match(await programError({ vaultUrl: emulator.vaults[VAULT], kinds: ["secret", "keys" as "key"] }), /VaultBackup: kinds\[1\] "keys" is not an object kind; use a list of "secret", "key", "certificate"/);
        assert.match(await programError({ vaultUrl: emulator.vaults[VAULT], include: { secrets: ["a"] } as never }), /VaultBackup: include\.secrets is not an object kind/);
    });
});
