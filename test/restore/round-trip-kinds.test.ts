import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ContainerClient } from "@azure/storage-blob";
import type { RunningEmulator } from "../../emulator";
import * as ops from "../../provider/operations";
import { restoreBackup, RestoreError } from "../../provider/restore";
import { verifyBackup } from "../../provider/verify";
import { RunningAzurite, startAzurite } from "../helpers/azurite";
import { azureNativeConfig, certificateClientFor, credentialFor, keyClientFor, pointAuthorityHostAt, startTestEmulator, uniqueName } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { runSecretBackup } from "./cli-process";
import { emulatorEnv } from "./vault-snapshot";
import { escapeRegExp } from "./recovery-helpers";

// Keys and certificates backed up by the provider (to a folder and to Blob Storage), deleted and
// purged, then restored with restoreBackup and the secret-backup command: the same object comes
// back. Key Vault's refusals (409, 400, 403) say what to do for that kind.
const VAULT = "restore-kinds";
const NO_RESTORE = "restore-kinds-no-restore";

interface Kind {
    kind: "key" | "certificate";
    nameInput: string;
    /** Makes the object; resolves with what must come back after a restore. */
    make(emulator: RunningEmulator, name: string): Promise<string>;
    /** What the vault now holds of `name`, comparable with `make`'s result. */
    read(emulator: RunningEmulator, name: string): Promise<string>;
    deleteAndPurge(emulator: RunningEmulator, name: string): Promise<void>;
}

const KIND_CASES: Kind[] = [
    {
        kind: "key", nameInput: "keyName",
        make: async (e, name) => identity((await keyClientFor(e, VAULT).createRsaKey(name)).key),
        read: async (e, name) => identity((await keyClientFor(e, VAULT).getKey(name)).key),
        deleteAndPurge: async (e, name) => {
            const client = keyClientFor(e, VAULT);
            await (await client.beginDeleteKey(name, { intervalInMs: 10 })).pollUntilDone();
            await client.purgeDeletedKey(name);
        },
    },
    {
        kind: "certificate", nameInput: "certificateName",
        make: async (e, name) => {
            const poller = await certificateClientFor(e, VAULT).beginCreateCertificate(name, { issuerName: "Self", subject: `CN=${name}` }, { intervalInMs: 50 });
            const c = await poller.pollUntilDone();
            return JSON.stringify({ id: c.id, x5t: Buffer.from(c.properties.x509Thumbprint!).toString("hex") });
        },
        read: async (e, name) => {
            const c = await certificateClientFor(e, VAULT).getCertificate(name);
            return JSON.stringify({ id: c.id, x5t: Buffer.from(c.properties.x509Thumbprint!).toString("hex") });
        },
        deleteAndPurge: async (e, name) => {
            const client = certificateClientFor(e, VAULT);
            await (await client.beginDeleteCertificate(name, { intervalInMs: 10 })).pollUntilDone();
            await client.purgeDeletedCertificate(name);
        },
    },
];

/** A key's id (with version) and public material: what makes it the same key. */
function identity(key: { kid?: string; n?: Uint8Array; x?: Uint8Array } | undefined): string {
    return JSON.stringify({ kid: key?.kid, n: Buffer.from(key?.n ?? []).toString("hex"), x: Buffer.from(key?.x ?? []).toString("hex") });
}

describe("restore round trips of keys and certificates, from a file and from a blob", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    let azurite: RunningAzurite;
    let containerUrl: string;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        const all = ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"];
        [emulator, azurite] = await Promise.all([
            startTestEmulator({
                seed: {
                    principals: [
                        { clientId: randomUUID(), clientSecret: "restore-kinds-secret-1", permissions: all },
                        { clientId: randomUUID(), clientSecret: "restore-kinds-secret-2", permissions: all.filter((p) => p !== "restore") },
                    ],
                    vaults: [VAULT, NO_RESTORE],
                },
            }),
            startAzurite(),
        ]);
        containerUrl = `${azurite.accountUrl}/kind-backups`;
        await new ContainerClient(containerUrl, credentialFor(emulator)).create();
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
        const config = azureNativeConfig(emulator, 0);
        ops.configure({ get: (key: string) => config[key] });
    });
    after(async () => {
        restoreAuthorityHost();
        await Promise.all([emulator?.close(), azurite?.stop()]);
    });

    for (const k of KIND_CASES) {
        for (const where of ["file", "blob"] as const) {
            it(`${k.kind} from a ${where}: backed up by the provider, deleted and purged, restored as it was`, async () => {
                const name = uniqueName(k.kind);
                const before = await k.make(emulator, name);
                const destination = where === "file" ? uniqueFolder(`restore-${k.kind}`) : `${containerUrl}/${k.kind}s`;
                const { outs } = await ops.create({ vaultUrl: emulator.vaults[VAULT], [k.nameInput]: name, destination });
                assert.match(outs.location, new RegExp(`_${name}_\\d{8}T\\d{9}Z_[0-9a-f]{12}\\.${k.kind}\\.kvbackup$`));
                const verified = await verifyBackup(outs.location, { sha256: outs.sha256, credential: credentialFor(emulator) });
                assert.equal(verified.kind, k.kind);
                await k.deleteAndPurge(emulator, name);
                const restored = await restoreBackup({ from: outs.location, vaultUrl: emulator.vaults[VAULT], sha256: outs.sha256, credential: credentialFor(emulator) });
                assert.equal(restored.kind, k.kind);
                assert.equal(restored.secretName, name);
                // The restored current version's id, never empty (the certificates SDK sets it only in properties).
                assert.match(restored.id, new RegExp(`^${escapeRegExp(emulator.vaults[VAULT])}/${k.kind}s/${name}/[0-9a-f]{32}$`));
                assert.equal(await k.read(emulator, name), before);
            });
        }

        it(`secret-backup restore of a ${k.kind} file says what it restored; a second restore gets 409 with the ${k.kind}'s advice`, async () => {
            const name = uniqueName(`cli-${k.kind}`);
            await k.make(emulator, name);
            const { outs } = await ops.create({ vaultUrl: emulator.vaults[VAULT], [k.nameInput]: name, destination: uniqueFolder(`restore-cli-${k.kind}`) });
            await k.deleteAndPurge(emulator, name);
            const run = await runSecretBackup(["restore", "--from", outs.location, "--vault", emulator.vaults[VAULT]], emulatorEnv(emulator));
            assert.equal(run.code, 0, run.stderr);
            assert.match(run.stdout, new RegExp(`verified ${outs.location}: ${k.kind} backup, \\d+ bytes`));
            assert.match(run.stdout, new RegExp(`restored ${k.kind} ${name} into ${escapeRegExp(emulator.vaults[VAULT])} \\(${escapeRegExp(emulator.vaults[VAULT])}/${k.kind}s/${name}/[0-9a-f]{32}, request id [0-9a-f-]{36}\\)\n`));
            const again = await runSecretBackup(["restore", "--from", outs.location, "--vault", emulator.vaults[VAULT]], emulatorEnv(emulator));
            assert.equal(again.code, 1);
            assert.match(again.stderr, /Key Vault answered HTTP 409, code Conflict/);
            assert.match(again.stderr, new RegExp(`What to do: a ${k.kind} of this name already exists in the vault, active or soft-deleted, or was purged seconds ago; restore never overwrites\\. Either recover the deleted ${k.kind} instead of restoring \\(az keyvault ${k.kind} recover\\)`));
        });

        it(`a ${k.kind} restore without the ${k.kind}s restore permission gets 403 with that permission named`, async () => {
            const name = uniqueName(`perm-${k.kind}`);
            await k.make(emulator, name);
            const { outs } = await ops.create({ vaultUrl: emulator.vaults[VAULT], [k.nameInput]: name, destination: uniqueFolder(`restore-403-${k.kind}`) });
            await assert.rejects(restoreBackup({ from: outs.location, vaultUrl: emulator.vaults[NO_RESTORE], credential: credentialFor(emulator, 1) }), (e: unknown) => {
                assert.ok(e instanceof RestoreError, String(e));
                assert.equal(e.statusCode, 403);
                assert.match(e.message, new RegExp(`What to do: the identity lacks the ${k.kind}s restore permission`));
                return true;
            });
        });
    }

    for (const [nameInput, noun] of [["keyName", "key"], ["secretName", "secret"]] as const) {
        it(`a backup of a certificate's managed ${noun} fails before any backup call, saying to back up the certificate`, async () => {
            const name = uniqueName("managed");
            await KIND_CASES[1].make(emulator, name);
            const folder = uniqueFolder("managed");
            await assert.rejects(ops.create({ vaultUrl: emulator.vaults[VAULT], [nameInput]: name, destination: folder }), (e: Error) => {
                assert.match(e.message, new RegExp(`"${name}" is the ${noun} Key Vault keeps for the certificate "${name}": its lifetime is managed by Key Vault and the certificate's backup holds it\\. Back up the certificate instead \\(CertificateBackup with certificateName "${name}"`));
                return true;
            });
            assert.equal(emulator.requests().filter((r) => r.path === `/${noun}s/${name}/backup`).length, 0, "no backup call");
            assert.equal(fs.existsSync(folder) ? fs.readdirSync(folder).length : 0, 0, "nothing written");
        });
    }

    it("a renamed key backup needs the kind; told the wrong kind (certificate), Key Vault's 400 says to pick a certificate backup", async () => {
        const name = uniqueName("renamed");
        await KIND_CASES[0].make(emulator, name);
        const { outs } = await ops.create({ vaultUrl: emulator.vaults[VAULT], keyName: name, destination: uniqueFolder("restore-renamed") });
        const renamed = path.join(path.dirname(fileURLToPath(outs.location)), "mystery.bin");
        fs.copyFileSync(fileURLToPath(outs.location), renamed);
        const verified = await verifyBackup(renamed);
        assert.equal(verified.kind, undefined);
        await assert.rejects(restoreBackup({ from: renamed, vaultUrl: emulator.vaults[NO_RESTORE], credential: credentialFor(emulator) }), /is a key or certificate backup \(they share one tag\) and its name does not say which: give the kind/);
        await assert.rejects(restoreBackup({ from: renamed, kind: "certificate", vaultUrl: emulator.vaults[NO_RESTORE], credential: credentialFor(emulator) }), (e: unknown) => {
            assert.ok(e instanceof RestoreError, String(e));
            assert.equal(e.statusCode, 400);
            assert.match(e.message, /What to do: Key Vault could not read the backup\. Pick the right file: a certificate backup \(not a secret or key backup\)/);
            return true;
        });
        const restored = await restoreBackup({ from: renamed, kind: "key", vaultUrl: emulator.vaults[NO_RESTORE], credential: credentialFor(emulator) });
        assert.equal(restored.secretName, name);
    });
});
