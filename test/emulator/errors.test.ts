import * as assert from "node:assert/strict";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { rbacScope } from "../../emulator/auth";
import { LATEST_API_VERSION, API_VERSIONS } from "../../emulator/api-version";
import * as errors from "../../emulator/errors";
import { dataActionFor } from "../../emulator/principals";
import { assertKeyVaultError, credentialFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest } from "./raw";

/** Every row of the error table in keyvault-behaviour.md (the 401s are in auth.test.ts), through the real SDK. */
describe("emulator: the service's errors", () => {
    let emulator: RunningEmulator;
    let admin: SecretClient;
    let reader: SecretClient;
    const caller = (i: number) => ({ appId: emulator.principals[i].clientId, objectId: emulator.principals[i].objectId, tenantId: emulator.tenantId });

    before(async () => {
        emulator = await startTestEmulator({
            vaults: ["err-vault"],
            seed: { vaults: { "rbac-vault": { accessModel: "rbac" }, "fw-vault": { firewall: "deny" } } },
        });
        admin = secretClientFor(emulator, "err-vault", 0);
        reader = secretClientFor(emulator, "err-vault", 1);
    });
    after(async () => {
        await emulator?.close();
    });

    it("403 AccessDenied names the caller, the missing permission and the vault", async () => {
        const name = uniqueName("denied");
        await admin.setSecret(name, "v");
        await assertKeyVaultError(reader.backupSecret(name), errors.accessDenied(caller(1), "backup", "err-vault", "local"));
        await assertKeyVaultError(reader.setSecret(name, "w"), errors.accessDenied(caller(1), "set", "err-vault", "local"));
        assert.equal((await reader.getSecret(name)).value, "v", "get is granted to principal [1]");
        assert.match(errors.accessDenied(caller(1), "backup", "err-vault", "local").message, /does not have secrets backup permission on key vault 'err-vault;location=local'/);
    });

    it("403 ForbiddenByRbac on an RBAC vault names the data action", async () => {
        const name = uniqueName("rbac");
        await secretClientFor(emulator, "rbac-vault", 0).setSecret(name, "v");
        await assertKeyVaultError(
            secretClientFor(emulator, "rbac-vault", 1).backupSecret(name),
            errors.forbiddenByRbac(caller(1), dataActionFor("backup"), "rbac-vault", "local", rbacScope("rbac-vault", name)),
        );
    });

    it("403 ForbiddenByFirewall when the vault's network rules exclude the client", async () => {
        await assertKeyVaultError(
            secretClientFor(emulator, "fw-vault", 0).getSecret("any"),
            errors.forbiddenByFirewall(caller(0), "127.0.0.1", "fw-vault", "local"),
        );
    });

    it("403 SecretDisabled when reading a disabled secret", async () => {
        const name = uniqueName("disabled");
        await admin.setSecret(name, "v", { enabled: false });
        await assertKeyVaultError(admin.getSecret(name), errors.secretDisabled());
    });

    it("404 SecretNotFound for a missing secret, a missing version and a missing deleted secret", async () => {
        const name = uniqueName("missing");
        await assertKeyVaultError(admin.getSecret(name), errors.secretNotFound(name));
        await assertKeyVaultError(admin.backupSecret(name), errors.secretNotFound(name));
        await admin.setSecret(name, "v");
        await assertKeyVaultError(admin.getSecret(name, { version: "0123456789abcdef0123456789abcdef" }), errors.secretNotFound(`${name}/0123456789abcdef0123456789abcdef`));
        await assertKeyVaultError(admin.getDeletedSecret(name), errors.deletedSecretNotFound(name));
        await assertKeyVaultError(admin.purgeDeletedSecret(name), errors.deletedSecretNotFound(name));
    });

    it("400 BadParameter for an invalid secret name (characters, length)", async () => {
        await assertKeyVaultError(admin.getSecret("bad_name"), errors.invalidName("bad_name"));
        const long = "a".repeat(128);
        await assertKeyVaultError(admin.setSecret(long, "v"), errors.invalidName(long));
        await admin.setSecret("a".repeat(127), "fits");
    });

    it("400 BadParameter for an unknown api-version; 7.0-7.6 and 2025-07-01 are accepted", async () => {
        const token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        const base = emulator.vaults["err-vault"];
        const bad = await rawRequest(`${base}/secrets?api-version=7.9`, { token });
        assert.equal(bad.status, 400);
        assert.deepEqual(bad.json, errors.unsupportedApiVersion("7.9", LATEST_API_VERSION).toBody());
        const none = await rawRequest(`${base}/secrets`, { token });
        assert.deepEqual(none.json, errors.unsupportedApiVersion("", LATEST_API_VERSION).toBody());
        for (const v of API_VERSIONS) {
            const ok = await rawRequest(`${base}/secrets?api%2Dversion=${v}`, { token });
            assert.equal(ok.status, 200, `api-version ${v}`);
        }
    });

    it("400 Malformed backup blob for a damaged blob and for tampered content", async () => {
        await assertKeyVaultError(admin.restoreSecretBackup(new Uint8Array([1, 2, 3, 4])), errors.invalidBackupVersion());
        const name = uniqueName("tamper");
        await admin.setSecret(name, "v");
        const blob = Buffer.from((await admin.backupSecret(name))!);
        await admin.beginDeleteSecret(name, { intervalInMs: 10 }).then((p) => p.pollUntilDone());
        await admin.purgeDeletedSecret(name);
        const tampered = Buffer.from(blob);
        tampered[tampered.length - 30] ^= 0x01; // inside the JWE's ciphertext/tag
        await assertKeyVaultError(admin.restoreSecretBackup(tampered), errors.invalidBackupVersion());
        const wrongTag = Buffer.from(blob);
        wrongTag[5] ^= 0x20;
        await assertKeyVaultError(admin.restoreSecretBackup(wrongTag), errors.invalidBackupVersion());
        const badJwe = Buffer.concat([blob.subarray(0, 42), Buffer.from("not a jwe")]);
        await assertKeyVaultError(admin.restoreSecretBackup(badJwe), errors.corruptBackup());
    });

    it("409 Conflict restoring while the name is active or soft-deleted, and setting a soft-deleted name", async () => {
        const name = uniqueName("conflict");
        const set = await admin.setSecret(name, "v");
        const blob = (await admin.backupSecret(name))!;
        const id = `${emulator.vaults["err-vault"]}/secrets/${name}/${set.properties.version}`;
        await assertKeyVaultError(admin.restoreSecretBackup(blob), errors.restoreConflict(id));
        await admin.beginDeleteSecret(name, { intervalInMs: 10 }).then((p) => p.pollUntilDone());
        await assertKeyVaultError(admin.restoreSecretBackup(blob), errors.restoreConflict(id));
        await assertKeyVaultError(admin.setSecret(name, "again"), errors.deletedNameInUse(name));
    });

    it("400 BadParameter for a value over 25 KB; 25 KB exactly is stored", async () => {
        const name = uniqueName("big");
        await admin.setSecret(name, "x".repeat(25 * 1024));
        await assertKeyVaultError(admin.setSecret(name, "x".repeat(25 * 1024 + 1)), errors.valueTooLarge(25 * 1024));
    });

    it("sends the service's headers on every answer, errors included", async () => {
        const token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        for (const url of [`${emulator.vaults["err-vault"]}/secrets?api-version=7.4`, `${emulator.vaults["err-vault"]}/secrets/nope/?api-version=7.4`]) {
            const res = await rawRequest(url, { token, headers: { "x-ms-client-request-id": "my-id-1" } });
            assert.match(String(res.headers["x-ms-request-id"]), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            assert.equal(res.headers["x-ms-client-request-id"], "my-id-1");
            assert.equal(res.headers["x-ms-keyvault-region"], "local");
            assert.ok(res.headers["x-ms-keyvault-service-version"]);
            assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
        }
    });
});
