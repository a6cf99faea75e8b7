import * as assert from "node:assert/strict";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import * as errors from "../../emulator/errors";
import { assertKeyVaultError, credentialFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest } from "./raw";

describe("emulator: secrets API (paging, soft delete, versions, limits)", () => {
    let emulator: RunningEmulator;
    let client: SecretClient;
    let token: string;
    before(async () => {
        emulator = await startTestEmulator({
            vaults: ["page-vault", "api-vault"],
            seed: { vaults: { "many-versions": { recoverableDays: 7, secrets: { "five-hundred-one": { versions: Array.from({ length: 501 }, (_, i) => ({ value: `v${i}` })) }, "five-hundred": { versions: Array.from({ length: 500 }, (_, i) => ({ value: `v${i}` })) } } } } },
        });
        client = secretClientFor(emulator, "api-vault");
        token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
    });
    after(async () => {
        await emulator?.close();
    });

    it("pages secrets with maxresults and nextLink, through the SDK and on the wire", async () => {
        const pageClient = secretClientFor(emulator, "page-vault");
        const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
        for (const n of names) await pageClient.setSecret(n, "v");
        const pages: string[][] = [];
        for await (const page of pageClient.listPropertiesOfSecrets().byPage({ maxPageSize: 3 })) pages.push(page.map((p) => p.name));
        assert.deepEqual(pages, [names.slice(0, 3), names.slice(3, 6), names.slice(6)]);

        const first = await rawRequest(`${emulator.vaults["page-vault"]}/secrets?api-version=7.4&maxresults=2`, { token });
        assert.equal(first.json.value.length, 2);
        assert.equal(first.json.value[0].id, `${emulator.vaults["page-vault"]}/secrets/paged-0`);
        assert.equal(first.json.value[0].value, undefined, "lists never carry values");
        assert.match(first.json.nextLink, /^https:\/\/127\.0\.0\.1:\d+\/secrets\?api-version=7\.4&\$skiptoken=[\w-]+&maxresults=2$/);
        const second = await rawRequest(first.json.nextLink, { token });
        assert.deepEqual(second.json.value.map((v: { id: string }) => v.id.split("/").pop()), ["paged-2", "paged-3"]);
        for (const bad of ["0", "26", "x"]) {
            const res = await rawRequest(`${emulator.vaults["page-vault"]}/secrets?api-version=7.4&maxresults=${bad}`, { token });
            assert.equal(res.status, 400, `maxresults=${bad}`);
            assert.equal(res.json.error.code, "BadParameter");
        }
    });

    it("lists every version of a secret with ids the SDK parses, and updates properties of one version", async () => {
        const name = uniqueName("versions");
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) ids.push((await client.setSecret(name, `v${i}`)).properties.version!);
        const listed: string[] = [];
        for await (const page of client.listPropertiesOfSecretVersions(name).byPage({ maxPageSize: 3 })) listed.push(...page.map((p) => p.version!));
        assert.deepEqual(listed, ids);
        await client.updateSecretProperties(name, ids[0], { enabled: false, tags: { old: "yes" } });
        await assertKeyVaultError(client.getSecret(name, { version: ids[0] }), errors.secretDisabled());
        assert.equal((await client.getSecret(name)).value, "v3");
    });

    it("soft-deletes with deletedDate and scheduledPurgeDate, recovers, deletes again and purges", async () => {
        const name = uniqueName("soft");
        const set = await client.setSecret(name, "keep-me");
        const deleted = await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
        assert.equal(deleted.recoveryId, `${emulator.vaults["api-vault"]}/deletedsecrets/${name}`);
        assert.ok(deleted.deletedOn && deleted.scheduledPurgeDate);
        assert.equal((deleted.scheduledPurgeDate.getTime() - deleted.deletedOn.getTime()) / 1000, 90 * 86400);
        assert.equal(deleted.properties.recoverableDays, 90);
        assert.equal(deleted.properties.recoveryLevel, "Recoverable+Purgeable");
        await assertKeyVaultError(client.getSecret(name), errors.secretNotFound(name));
        const listedDeleted: string[] = [];
        for await (const d of client.listDeletedSecrets()) listedDeleted.push(d.name);
        assert.ok(listedDeleted.includes(name));
        const names: string[] = [];
        for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
        assert.ok(!names.includes(name), "a deleted secret is not listed");

        await (await client.beginRecoverDeletedSecret(name, { intervalInMs: 10 })).pollUntilDone();
        const back = await client.getSecret(name);
        assert.equal(back.value, "keep-me");
        assert.equal(back.properties.version, set.properties.version);

        await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
        const before = emulator.requests().length;
        await client.purgeDeletedSecret(name);
        assert.deepEqual(emulator.requests().slice(before).filter((r) => r.status !== 401).map((r) => [r.operation, r.status]), [["purge", 204]]);
        await assertKeyVaultError(client.getDeletedSecret(name), errors.deletedSecretNotFound(name));
        await client.setSecret(name, "reused after purge");
    });

    it("uses the vault's recoverableDays for the purge date", async () => {
        const c = secretClientFor(emulator, "many-versions");
        const d = await (await c.beginDeleteSecret("five-hundred", { intervalInMs: 10 })).pollUntilDone();
        assert.equal((d.scheduledPurgeDate!.getTime() - d.deletedOn!.getTime()) / 1000, 7 * 86400);
        await (await c.beginRecoverDeletedSecret("five-hundred", { intervalInMs: 10 })).pollUntilDone();
    });

    it("backs up 500 versions and refuses 501", async () => {
        const c = secretClientFor(emulator, "many-versions");
        assert.ok((await c.backupSecret("five-hundred"))!.length > 1000);
        await assertKeyVaultError(c.backupSecret("five-hundred-one"), errors.tooManyVersions("five-hundred-one", 501, 500));
    });

    it("treats names case-insensitively, as the service does", async () => {
        const name = uniqueName("CaseName");
        await client.setSecret(name, "v");
        assert.equal((await client.getSecret(name.toLowerCase())).value, "v");
    });

    it("answers with the bodies of the 7.4 spec's examples (set, get deleted, purge, backup, restore)", async () => {
        const base = emulator.vaults["api-vault"];
        const name = uniqueName("shape");
        const set = await rawRequest(`${base}/secrets/${name}?api-version=7.4`, { method: "PUT", token, body: { value: "mysecretvalue" } });
        assert.deepEqual(Object.keys(set.json).sort(), ["attributes", "id", "value"]);
        assert.match(set.json.id, new RegExp(`^${base}/secrets/${name}/[0-9a-f]{32}$`));
        assert.deepEqual(Object.keys(set.json.attributes).sort(), ["created", "enabled", "recoverableDays", "recoveryLevel", "updated"]);
        assert.equal(set.json.attributes.created, set.json.attributes.updated);
        assert.ok(Math.abs(set.json.attributes.created - Date.now() / 1000) < 5, "Unix seconds");
        const backup = await rawRequest(`${base}/secrets/${name}/backup?api-version=7.4`, { method: "POST", token });
        assert.deepEqual(Object.keys(backup.json), ["value"]);
        assert.match(backup.json.value, /^KUF6dXJlS2V5VmF1bHRTZWNyZXRCYWNrdXBWMS5taWNyb3NvZnQuY29t[A-Za-z0-9_-]+$/, "base64url, no padding, same prefix as the spec's example");
        await rawRequest(`${base}/secrets/${name}?api-version=7.4`, { method: "DELETE", token });
        const deleted = await rawRequest(`${base}/deletedsecrets/${name}?api-version=7.4`, { token });
        assert.deepEqual(Object.keys(deleted.json).sort(), ["attributes", "deletedDate", "id", "recoveryId", "scheduledPurgeDate"]);
        const purge = await rawRequest(`${base}/deletedsecrets/${name}?api-version=7.4`, { method: "DELETE", token });
        assert.equal(purge.status, 204);
        assert.equal(purge.text, "");
        const restore = await rawRequest(`${base}/secrets/restore?api-version=7.4`, { method: "POST", token, body: { value: backup.json.value } });
        assert.equal(restore.status, 200);
        assert.deepEqual(Object.keys(restore.json).sort(), ["attributes", "id"], "no value in restore's answer");
        assert.equal(restore.json.id, set.json.id);
        assert.deepEqual(restore.json.attributes, set.json.attributes);
    });
});
