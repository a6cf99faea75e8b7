/**
 * The keys API against the real @azure/keyvault-keys clients (and raw HTTP where the client hides
 * the wire). Expected service text is written literally from keys-certificates-behaviour.md.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as jose from "jose";
import { CryptographyClient, type KeyClient } from "@azure/keyvault-keys";
import type { RunningEmulator } from "../../emulator";
import { assertServiceError, credentialFor, keyClientFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest } from "./raw";
import { publicJwkOf, verifiesLocally } from "../../scripts/vault-objects";
import { generateJwkPair } from "../../emulator/key-crypto";

const NOT_FOUND_TAIL =
    "was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";
const conflictText = (kid: string) =>
    `There was a conflict restoring the key '${kid}'. This can happen if either: a second key with the same name was created after the first key was deleted; thus trying to restore a key whose name is already in use. To fix this, rename the second key to something else so that the restore works. The second probable cause of this exception is when multiple operations are performed in parallel against the key. To avoid this error, perform operations against a key in a sequential manner.`;

async function purge(client: KeyClient, name: string): Promise<void> {
    await (await client.beginDeleteKey(name, { intervalInMs: 10 })).pollUntilDone();
    await client.purgeDeletedKey(name);
}

describe("emulator: keys", () => {
    let emulator: RunningEmulator;
    let other: RunningEmulator;
    let client: KeyClient;
    let token: string;
    let base: string;
    const caller = (i: number) => `appid=${emulator.principals[i].clientId};oid=${emulator.principals[i].objectId};iss=https://sts.windows.net/${emulator.tenantId}/`;

    before(async () => {
        [emulator, other] = await Promise.all([
            startTestEmulator({
                vaults: ["key-vault", "key-vault2", "key-page"],
                backupKey: "keys-geo",
                seed: { vaults: { "key-rbac": { accessModel: "rbac" }, "key-fw": { firewall: "deny" }, "key-seeded": { keys: { "seeded-ec": { kty: "EC", crv: "P-384" } } } } },
                lag: { purgeMs: 1500 },
            }),
            startTestEmulator({ vaults: ["key-other"], backupKey: "another-geo" }),
        ]);
        client = keyClientFor(emulator, "key-vault");
        token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        base = emulator.vaults["key-vault"];
    });
    after(async () => {
        await Promise.all([emulator?.close(), other?.close()]);
    });

    it("creates RSA 2048/3072/4096 and EC P-256/384/521 keys (and -HSM kinds as software keys); each signs, and the signature verifies with the public part alone", async () => {
        const cases = [
            { kty: "RSA", keySize: 2048, alg: "RS256" },
            { kty: "RSA", keySize: 3072, alg: "PS256" },
            { kty: "RSA-HSM", keySize: 4096, alg: "RS512" },
            { kty: "EC", curve: "P-256", alg: "ES256" },
            { kty: "EC-HSM", curve: "P-384", alg: "ES384" },
            { kty: "EC", curve: "P-521", alg: "ES512" },
        ] as const;
        for (const c of cases) {
            const name = uniqueName("kinds");
            const made = await client.createKey(name, c.kty, "keySize" in c ? { keySize: c.keySize } : { curve: c.curve });
            assert.equal(made.keyType, c.kty);
            assert.match(made.id!, new RegExp(`^${base}/keys/${name}/[0-9a-f]{32}$`));
            if ("keySize" in c) assert.equal(made.key!.n!.length * 8, c.keySize);
            else assert.equal(made.key!.crv, c.curve);
            assert.equal(made.key!.d, undefined, "no private part leaves the vault");
            const crypto = new CryptographyClient(made, credentialFor(emulator), { disableChallengeResourceVerification: true });
            const data = Buffer.from(`signed by ${name}`);
            const signed = await crypto.signData(c.alg, data);
            assert.ok(verifiesLocally(publicJwkOf(made), c.alg, data, signed.result), `${c.alg} verifies with the public key`);
            const digest = createHash(`sha${c.alg.slice(2)}`).update(data).digest();
            assert.equal((await crypto.verify(c.alg, digest, signed.result)).result, true);
            const tampered = Buffer.from(signed.result);
            tampered[3] ^= 1;
            assert.equal((await crypto.verify(c.alg, digest, tampered)).result, false);
        }
        assert.ok(emulator.requests().some((r) => r.operation === "key.verify" && r.status === 200), "verify went to the vault");
    });

    it("imports a JWK, gets it by version, and never answers with private members", async () => {
        const name = uniqueName("imported");
        // Made by Node, encoded inside its generation job (exporting a just-generated key can deadlock Node 20).
        const jwk = generateJwkPair("rsa", { modulusLength: 2048, publicExponent: 65537 });
        const res = await rawRequest(`${base}/keys/${name}?api-version=7.4`, { method: "PUT", token, body: { key: { ...jwk, kty: "RSA", key_ops: ["sign", "verify"] }, tags: { from: "jwk" } } });
        assert.equal(res.status, 200);
        assert.equal(res.json.key.n, jwk.n);
        assert.deepEqual(res.json.key.key_ops, ["sign", "verify"]);
        assert.deepEqual(res.json.tags, { from: "jwk" });
        const version = res.json.key.kid.split("/").pop();
        for (const path of [`/keys/${name}/${version}`, `/keys/${name}/`, `/keys`, `/keys/${name}/versions`]) {
            const got = await rawRequest(`${base}${path}?api-version=7.4`, { token });
            assert.equal(got.status, 200, path);
            for (const member of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"']) assert.ok(!got.text.includes(member), `${path} has no ${member}`);
        }
        const bad = await rawRequest(`${base}/keys/${name}?api-version=7.4`, { method: "PUT", token, body: { key: { kty: "RSA", n: jwk.n, e: jwk.e } } });
        assert.equal(bad.status, 400);
        assert.match(bad.json.error.message, /private part/);
    });

    it("pages keys and versions with maxresults and nextLink; list items carry kid without version and no managed flag", async () => {
        const page = keyClientFor(emulator, "key-page");
        const names = Array.from({ length: 5 }, (_, i) => `kp-${i}`);
        for (const n of names) await page.createKey(n, "EC");
        const versions: string[] = [];
        for (let i = 0; i < 3; i++) versions.push((await page.createKey("kp-0", "EC")).properties.version!);
        const pages: string[][] = [];
        for await (const p of page.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) pages.push(p.map((k) => k.name));
        assert.deepEqual(pages, [names.slice(0, 2), names.slice(2, 4), names.slice(4)]);
        const listed: string[] = [];
        for await (const p of page.listPropertiesOfKeyVersions("kp-0").byPage({ maxPageSize: 2 })) listed.push(...p.map((k) => k.version!));
        assert.equal(listed.length, 4);
        assert.deepEqual(listed.slice(1), versions);
        const first = await rawRequest(`${emulator.vaults["key-page"]}/keys?api-version=7.4&maxresults=1`, { token });
        assert.deepEqual(Object.keys(first.json.value[0]).sort(), ["attributes", "kid"]);
        assert.equal(first.json.value[0].kid, `${emulator.vaults["key-page"]}/keys/kp-0`);
        assert.match(first.json.nextLink, /\/keys\?api-version=7\.4&\$skiptoken=[\w-]+&maxresults=1$/);
        const second = await rawRequest(first.json.nextLink, { token });
        assert.equal(second.json.value[0].kid, `${emulator.vaults["key-page"]}/keys/kp-1`);
    });

    it("updates attributes and tags; a disabled key refuses to sign", async () => {
        const name = uniqueName("upd");
        const made = await client.createKey(name, "EC");
        const updated = await client.updateKeyProperties(name, made.properties.version!, { enabled: false, tags: { env: "test" } });
        assert.equal(updated.properties.enabled, false);
        assert.deepEqual(updated.properties.tags, { env: "test" });
        const crypto = new CryptographyClient(made.id!, credentialFor(emulator), { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
        await assert.rejects(crypto.sign("ES256", Buffer.alloc(32)), (e: { statusCode?: number }) => e.statusCode === 403);
    });

    it("soft-deletes (recoveryId, deletedDate, scheduledPurgeDate), recovers and purges (204, empty body)", async () => {
        const name = uniqueName("soft");
        const made = await client.createKey(name, "RSA");
        const deleted = await (await client.beginDeleteKey(name, { intervalInMs: 10 })).pollUntilDone();
        assert.equal(deleted.properties.recoveryId, `${base}/deletedkeys/${name}`);
        assert.equal((deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()) / 1000, 90 * 86400);
        await assertServiceError(client.getKey(name), 404, "KeyNotFound", `A key with (name/id) ${name} ${NOT_FOUND_TAIL}`);
        const listed: string[] = [];
        for await (const d of client.listDeletedKeys()) listed.push(d.name);
        assert.ok(listed.includes(name));
        await (await client.beginRecoverDeletedKey(name, { intervalInMs: 10 })).pollUntilDone();
        assert.equal((await client.getKey(name)).id, made.id);
        await (await client.beginDeleteKey(name, { intervalInMs: 10 })).pollUntilDone();
        const purged = await rawRequest(`${base}/deletedkeys/${name}?api-version=7.4`, { method: "DELETE", token });
        assert.equal(purged.status, 204);
        assert.equal(purged.text, "");
        await assertServiceError(client.getDeletedKey(name), 404, "KeyNotFound", `Deleted Key not found: ${name}`);
    });

    it("backs up every version: 0x26 + AzureKeyVaultKeyBackupV1.microsoft.com + a five-part JWE (kid, alg, enc); fresh bytes each time", async () => {
        const name = uniqueName("framing");
        await client.createKey(name, "RSA");
        await client.createKey(name, "RSA");
        const raw = await rawRequest(`${base}/keys/${name}/backup?api-version=7.4`, { method: "POST", token });
        assert.deepEqual(Object.keys(raw.json), ["value"]);
        assert.match(raw.json.value, /^[A-Za-z0-9_-]+$/, "base64url without padding");
        const blob = Buffer.from((await client.backupKey(name))!);
        assert.equal(blob[0], 0x26);
        assert.equal(blob.subarray(1, 39).toString("ascii"), "AzureKeyVaultKeyBackupV1.microsoft.com");
        const jwe = blob.subarray(39).toString("ascii");
        assert.equal(jwe.split(".").length, 5);
        const header = jose.decodeProtectedHeader(jwe);
        assert.deepEqual(Object.keys(header).sort(), ["alg", "enc", "kid"]);
        assert.equal(header.enc, "A256CBC-HS512");
        assert.notEqual(Buffer.from(raw.json.value, "base64url").toString("base64url"), blob.toString("base64url"), "each backup encrypts afresh");
    });

    it("restores after delete and purge with the original kid, key material, dates and every version; the restored key signs and the original public part verifies", async () => {
        const name = uniqueName("round");
        const v1 = await client.createKey(name, "EC", { curve: "P-256" });
        const v2 = await client.createKey(name, "RSA", { keySize: 2048 });
        const blob = (await client.backupKey(name))!;
        await purge(client, name);
        await assertServiceError(client.restoreKeyBackup(blob), 409, "Conflict", conflictText(v2.id!));
        // the purge lag (1.5 s here) has passed once restore answers 200
        const deadline = Date.now() + 10_000;
        let restored;
        for (;;) {
            try {
                restored = await client.restoreKeyBackup(blob);
                break;
            } catch (e) {
                if ((e as { statusCode?: number }).statusCode !== 409 || Date.now() > deadline) throw e;
                await new Promise((r) => setTimeout(r, 100));
            }
        }
        assert.equal(restored.id, v2.id);
        assert.deepEqual(restored.key!.n, v2.key!.n);
        assert.equal(restored.properties.createdOn!.getTime(), v2.properties.createdOn!.getTime());
        assert.equal(restored.properties.updatedOn!.getTime(), v2.properties.updatedOn!.getTime());
        const old = await client.getKey(name, { version: v1.properties.version });
        assert.deepEqual(old.key!.x, v1.key!.x);
        const data = Buffer.from("after restore");
        const crypto = new CryptographyClient(restored.id!, credentialFor(emulator), { disableChallengeResourceVerification: true });
        const sig = await crypto.signData("RS256", data);
        assert.ok(verifiesLocally(publicJwkOf(v2), "RS256", data, sig.result), "the original public part verifies the restored key's signature");
        const ecSig = await new CryptographyClient(v1.id!, credentialFor(emulator), { disableChallengeResourceVerification: true }).signData("ES256", data);
        assert.ok(verifiesLocally(publicJwkOf(v1), "ES256", data, ecSig.result));
        // and into another vault of the same backup key: same version, that vault's host
        const elsewhere = await keyClientFor(emulator, "key-vault2").restoreKeyBackup(blob);
        assert.equal(elsewhere.id, `${emulator.vaults["key-vault2"]}/keys/${name}/${v2.properties.version}`);
    });

    it("refuses restore while the name is active or soft-deleted (409, recorded text), and creates nothing", async () => {
        const name = uniqueName("busy");
        const made = await client.createKey(name, "EC");
        const blob = (await client.backupKey(name))!;
        await assertServiceError(client.restoreKeyBackup(blob), 409, "Conflict", conflictText(made.id!));
        await (await client.beginDeleteKey(name, { intervalInMs: 10 })).pollUntilDone();
        await assertServiceError(client.restoreKeyBackup(blob), 409, "Conflict", conflictText(made.id!));
    });

    it("answers 400 Malformed backup blob for all-zero bytes, a blob of another backup key, and a secret blob (and a key blob to secret restore)", async () => {
        const corrupt = "Backup blob contains invalid or corrupt version.";
        await assertServiceError(client.restoreKeyBackup(new Uint8Array(64)), 400, "Malformed backup blob", corrupt);
        const name = uniqueName("foreign");
        await client.createKey(name, "EC");
        const blob = (await client.backupKey(name))!;
        await assertServiceError(keyClientFor(other, "key-other").restoreKeyBackup(blob), 400, "Malformed backup blob", corrupt);
        await assertServiceError(keyClientFor(other, "key-other").getKey(name), 404, "KeyNotFound", `A key with (name/id) ${name} ${NOT_FOUND_TAIL}`);
        const secrets = secretClientFor(emulator, "key-vault");
        await secrets.setSecret(name, "v");
        const secretBlob = (await secrets.backupSecret(name))!;
        await assertServiceError(client.restoreKeyBackup(secretBlob), 400, "Malformed backup blob", corrupt);
        await assertServiceError(secrets.restoreSecretBackup(blob), 400, "Malformed backup blob", corrupt);
        await assertServiceError(secrets.restoreSecretBackup(new Uint8Array(64)), 400, "Malformed backup blob", corrupt);
    });

    it("answers 404 KeyNotFound (recorded text) for backup of a missing key and a missing version", async () => {
        const name = uniqueName("missing");
        await assertServiceError(client.backupKey(name), 404, "KeyNotFound", `A key with (name/id) ${name} ${NOT_FOUND_TAIL}`);
        await client.createKey(name, "EC");
        await assertServiceError(client.getKey(name, { version: "0123456789abcdef0123456789abcdef" }), 404, "KeyNotFound", `A key with (name/id) ${name}/0123456789abcdef0123456789abcdef ${NOT_FOUND_TAIL}`);
    });

    it("checks key permissions: [1] may get and list but not back up, restore or create; RBAC names the keys data action; the firewall refuses", async () => {
        const name = uniqueName("perm");
        await client.createKey(name, "EC");
        const blob = (await client.backupKey(name))!;
        const reader = keyClientFor(emulator, "key-vault", 1);
        assert.equal((await reader.getKey(name)).name, name);
        const denied = (p: string) =>
            `The user, group or application '${caller(1)}' does not have keys ${p} permission on key vault 'key-vault;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;
        await assertServiceError(reader.backupKey(name), 403, "Forbidden", denied("backup"));
        await assertServiceError(reader.restoreKeyBackup(blob), 403, "Forbidden", denied("restore"));
        await assertServiceError(reader.createKey(uniqueName("no"), "EC"), 403, "Forbidden", denied("create"));
        await keyClientFor(emulator, "key-rbac").createKey(name, "EC");
        await assertServiceError(keyClientFor(emulator, "key-rbac", 1).backupKey(name), 403, "Forbidden", /Action: 'Microsoft\.KeyVault\/vaults\/keys\/backup\/action'\r\nResource: '[^']*\/vaults\/key-rbac\/keys\//);
        await assertServiceError(keyClientFor(emulator, "key-rbac", 1).restoreKeyBackup(blob), 403, "Forbidden", /Action: 'Microsoft\.KeyVault\/vaults\/keys\/restore\/action'/);
        await assertServiceError(keyClientFor(emulator, "key-fw").getKey(name), 403, "Forbidden", /^Client address is not authorized and caller is not a trusted service\./);
        const raw = await rawRequest(`${emulator.vaults["key-vault"]}/keys/${name}/backup?api-version=7.4`, { method: "POST", token: (await credentialFor(emulator, 1).getToken("https://vault.azure.net/.default")).token });
        assert.equal(raw.json.error.innererror.code, "AccessDenied");
    });

    it("serves keys from a seed", async () => {
        const seeded = await keyClientFor(emulator, "key-seeded").getKey("seeded-ec");
        assert.equal(seeded.key!.crv, "P-384");
    });

    it("applies throttling and scripted faults to key routes", async () => {
        const name = uniqueName("fault");
        await client.createKey(name, "EC");
        emulator.faults.add({ vault: "key-vault", operation: "key.backup", kind: "status", status: 503 });
        await assert.rejects(client.backupKey(name), (e: { statusCode?: number }) => e.statusCode === 503);
        assert.ok((await client.backupKey(name))!.length > 100, "one fault, then normal");
        emulator.faults.setThrottle({ creations: 2, operations: 1000, windowMs: 60_000 });
        try {
            await client.createKey(uniqueName("t"), "EC");
            await client.createKey(uniqueName("t"), "EC");
            await assertServiceError(
                client.createKey(uniqueName("t"), "EC"),
                429,
                "Throttled",
                "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            );
        } finally {
            emulator.faults.setThrottle(false);
        }
    });

    it("accepts api-version 7.4 and 2025-07-01 on key routes; ids follow the request's host without a default port", async () => {
        const name = uniqueName("wire");
        await client.createKey(name, "EC");
        for (const v of ["7.4", "2025-07-01"]) {
            const res = await rawRequest(`${base}/keys/${name}/?api-version=${v}`, { token });
            assert.equal(res.status, 200, v);
        }
        const before = emulator.requests().length;
        await client.getKey(name);
        assert.ok(emulator.requests().slice(before).some((r) => r.operation === "key.get" && r.status === 200));
        for (const [host, expected] of [
            ["myvault.vault.azure.net", "https://myvault.vault.azure.net"],
            ["myvault.vault.azure.net:443", "https://myvault.vault.azure.net"],
            ["myvault.vault.azure.net:8443", "https://myvault.vault.azure.net:8443"],
        ]) {
            const res = await rawRequest(`${base}/keys/${name}/?api-version=7.4`, { token, headers: { host } });
            assert.match(res.json.key.kid, new RegExp(`^${expected.replace(/\./g, "\\.")}/keys/${name}/[0-9a-f]{32}$`), host);
        }
    });
});
