/**
 * The certificates API and the key and secret every certificate owns, against the real
 * @azure/keyvault-certificates, -keys and -secrets clients (raw HTTP where a client hides the wire).
 * Expected service text is written literally from keys-certificates-behaviour.md.
 */
import * as assert from "node:assert/strict";
import { X509Certificate, createHash, createPublicKey, generateKeyPairSync, verify as nodeVerify } from "node:crypto";
import * as forge from "node-forge";
import * as jose from "jose";
import { CryptographyClient } from "@azure/keyvault-keys";
import type { CertificateClient, CertificatePolicy } from "@azure/keyvault-certificates";
import type { RunningEmulator } from "../../emulator";
import { assertServiceError, certificateClientFor, credentialFor, keyClientFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest } from "./raw";

const POLICY: CertificatePolicy = { issuerName: "Self", subject: "CN=emulated.example" };
const MANAGED_HELP = "For more information refer to https://docs.microsoft.com/en-us/azure/key-vault/certificates/about-certificates#composition-of-a-certificate";
const CERT_NOT_FOUND = (name: string) =>
    `A certificate with (name/id) ${name} was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`;

/** A PFX made outside the emulator (node-forge), with `password`, and its certificate's DER. */
function makePfx(password: string | null): { pfx: Buffer; der: Buffer } {
    // Encoded inside the generation job: exporting a just-generated KeyObject can deadlock Node 20 (see generateJwkPair).
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const keys = {
        privateKey: forge.pki.privateKeyFromPem(pair.privateKey),
        publicKey: forge.pki.publicKeyFromPem(pair.publicKey),
    };
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = "01";
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 30 * 86400_000);
    cert.setSubject([{ name: "commonName", value: "imported.example" }]);
    cert.setIssuer([{ name: "commonName", value: "imported.example" }]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    const p12 = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], password, { algorithm: "3des" });
    return {
        pfx: Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary"),
        der: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary"),
    };
}

/** The certificate and private key inside a base64 PFX with an empty password (what Key Vault hands out). */
function openPfx(base64: string): { certDer: Buffer; keyPem: string } {
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(base64)), "");
    const keyBag = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag]![0];
    const certBag = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag]![0];
    return {
        certDer: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(certBag.cert!)).getBytes(), "binary"),
        keyPem: forge.pki.privateKeyToPem(keyBag.key!),
    };
}

async function create(client: CertificateClient, name: string, policy: CertificatePolicy = POLICY) {
    return (await client.beginCreateCertificate(name, policy, { intervalInMs: 20 })).pollUntilDone();
}

describe("emulator: certificates and the key and secret they own", () => {
    let emulator: RunningEmulator;
    let allow: RunningEmulator;
    let slow: RunningEmulator;
    let client: CertificateClient;
    let token: string;
    let base: string;
    const caller = (i: number) => `appid=${emulator.principals[i].clientId};oid=${emulator.principals[i].objectId};iss=https://sts.windows.net/${emulator.tenantId}/`;

    before(async () => {
        [emulator, allow, slow] = await Promise.all([
            startTestEmulator({
                vaults: ["cert-vault", "cert-page"],
                backupKey: "certs-geo",
                seed: { vaults: { "cert-rbac": { accessModel: "rbac" }, "cert-seeded": { certificates: { "seeded-cert": {} } } } },
            }),
            startTestEmulator({ vaults: ["cert-allow"], seed: { managedBackup: "allow" } }),
            startTestEmulator({ vaults: ["cert-slow"], certificateDelayMs: 1500 }),
        ]);
        client = certificateClientFor(emulator, "cert-vault");
        token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        base = emulator.vaults["cert-vault"];
    });
    after(async () => {
        await Promise.all([emulator?.close(), allow?.close(), slow?.close()]);
    });

    it("create answers 202 with Location and Retry-After: 10 and an inProgress operation (recorded text); the policy gets the service's defaults; nbf is 10 minutes back, exp 12 months on", async () => {
        const name = uniqueName("flow");
        const body = { policy: { key_props: {}, secret_props: {}, x509_props: { subject: "cn=MyCert", sans: {} }, issuer: { name: "Self" }, attributes: {} }, attributes: {} };
        const res = await rawRequest(`${base}/certificates/${name}/create?api-version=7.4`, { method: "POST", token, body });
        assert.equal(res.status, 202);
        assert.match(String(res.headers.location), new RegExp(`^${base}/certificates/${name}/pending\\?api-version=7\\.4&request_id=[0-9a-f]{32}$`));
        assert.equal(res.headers["retry-after"], "10");
        assert.equal(res.json.id, `${base}/certificates/${name}/pending`);
        assert.deepEqual(res.json.issuer, { name: "Self" });
        assert.equal(res.json.status, "inProgress");
        assert.equal(res.json.cancellation_requested, false);
        assert.equal(
            res.json.status_details,
            "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.",
        );
        assert.match(res.json.request_id, /^[0-9a-f]{32}$/);
        assert.match(res.json.csr, /^[A-Za-z0-9+/]+=*$/, "standard base64");
        const pending = await rawRequest(`${base}/certificates/${name}/pending?api-version=7.4`, { token });
        assert.equal(pending.json.status, "completed");
        assert.equal(pending.json.target, `${base}/certificates/${name}`);
        assert.equal(pending.json.status_details, undefined);
        assert.equal(pending.headers["retry-after"], undefined);
        const got = await rawRequest(`${base}/certificates/${name}/?api-version=7.4`, { token });
        const p = got.json.policy;
        assert.deepEqual(p.key_props, { exportable: true, kty: "RSA", key_size: 2048, reuse_key: false });
        assert.deepEqual(p.secret_props, { contentType: "application/x-pkcs12" });
        assert.equal(p.x509_props.subject, "cn=MyCert", "the caller's spelling");
        assert.deepEqual(p.x509_props.ekus, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
        assert.deepEqual(p.x509_props.key_usage, ["digitalSignature", "keyEncipherment"]);
        assert.equal(p.x509_props.validity_months, 12);
        assert.deepEqual(p.lifetime_actions, [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } }]);
        assert.deepEqual(p.x509_props.basic_constraints, { ca: false }, "2025-07-01's field");
        assert.deepEqual(got.json.pending, { id: `${base}/certificates/${name}/pending` }, "2025-07-01's field");
        const a = got.json.attributes;
        assert.ok(Math.abs(a.created - a.nbf - 600) <= 2, `nbf ${a.nbf} about 10 minutes before created ${a.created}`);
        const oneYear = new Date(a.created * 1000);
        oneYear.setUTCMonth(oneYear.getUTCMonth() + 12);
        assert.ok(Math.abs(a.exp - oneYear.getTime() / 1000) <= 2, "exp = issuance + 12 months");
        const x = new X509Certificate(Buffer.from(got.json.cer, "base64"));
        assert.equal(x.subject, "CN=MyCert");
        assert.equal(got.json.x5t, createHash("sha1").update(x.raw).digest("base64url"));
    });

    it("a creation that takes time: inProgress with Retry-After, then completed; the SDK poller waits for it", async () => {
        const slowClient = certificateClientFor(slow, "cert-slow");
        const name = uniqueName("slow");
        const poller = await slowClient.beginCreateCertificate(name, POLICY, { intervalInMs: 100 });
        const slowToken = (await credentialFor(slow).getToken("https://vault.azure.net/.default")).token;
        const early = await rawRequest(`${slow.vaults["cert-slow"]}/certificates/${name}/pending?api-version=7.4`, { token: slowToken });
        assert.equal(early.json.status, "inProgress");
        assert.equal(early.headers["retry-after"], "10");
        await assertServiceError(slowClient.getCertificate(name), 404, "CertificateNotFound", CERT_NOT_FOUND(name));
        const cert = await poller.pollUntilDone();
        assert.match(cert.properties.id!, new RegExp(`/certificates/${name}/[0-9a-f]{32}$`));
        const ops = slow.requests().filter((r) => r.path.includes(name) && r.operation === "certificate.pending").map((r) => r.status);
        assert.ok(ops.length >= 2, `polled more than once: ${ops.join(",")}`);
    });

    it("each version owns a key and a secret of the same name and version, managed; the secret holds the PFX (default) or PEM (key then certificate)", async () => {
        const name = uniqueName("owned");
        const cert = await create(client, name);
        const version = cert.properties.version!;
        assert.equal(cert.keyId, `${base}/keys/${name}/${version}`);
        assert.equal(cert.secretId, `${base}/secrets/${name}/${version}`);
        const secret = await secretClientFor(emulator, "cert-vault").getSecret(name);
        assert.equal(secret.properties.version, version);
        assert.equal(secret.properties.managed, true);
        assert.equal(secret.properties.contentType, "application/x-pkcs12");
        assert.equal(secret.properties.certificateKeyId, `${base}/keys/${name}/${version}`);
        const opened = openPfx(secret.value!);
        assert.deepEqual(opened.certDer, Buffer.from(cert.cer!));
        const key = await keyClientFor(emulator, "cert-vault").getKey(name);
        assert.equal(key.properties.version, version);
        assert.equal(key.properties.managed, true);
        // the key in the vault is the certificate's key: it signs, and the certificate's public key verifies
        const data = Buffer.from("owned key");
        const sig = await new CryptographyClient(key.id!, credentialFor(emulator), { disableChallengeResourceVerification: true }).signData("RS256", data);
        assert.ok(nodeVerify("sha256", data, new X509Certificate(Buffer.from(cert.cer!)).publicKey, Buffer.from(sig.result)));

        const pemName = uniqueName("pem");
        await create(client, pemName, { ...POLICY, contentType: "application/x-pem-file", keyType: "EC", keyCurveName: "P-256" });
        const pem = (await secretClientFor(emulator, "cert-vault").getSecret(pemName)).value!;
        assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    });

    it("lists the certificate's key and secret with managed: true; ordinary items omit managed", async () => {
        const name = uniqueName("listed");
        await create(client, name);
        const plain = uniqueName("plain");
        await secretClientFor(emulator, "cert-vault").setSecret(plain, "v");
        await keyClientFor(emulator, "cert-vault").createKey(plain, "EC");
        for (const kind of ["secrets", "keys"]) {
            const all: { id?: string; kid?: string; managed?: boolean }[] = [];
            let url: string | null = `${base}/${kind}?api-version=7.4&maxresults=25`;
            while (url) {
                const page: { json: { value: typeof all; nextLink: string | null } } = await rawRequest(url, { token });
                all.push(...page.json.value);
                url = page.json.nextLink;
            }
            const find = (n: string) => all.find((i) => (i.id ?? i.kid)!.endsWith(`/${kind}/${n}`));
            assert.equal(find(name)?.managed, true, `${kind} item of the certificate`);
            assert.ok(find(plain) && !("managed" in find(plain)!), `ordinary ${kind} item omits managed`);
        }
        const viaSdk: boolean[] = [];
        for await (const p of secretClientFor(emulator, "cert-vault").listPropertiesOfSecrets()) if (p.name === name) viaSdk.push(p.managed === true);
        for await (const p of keyClientFor(emulator, "cert-vault").listPropertiesOfKeys()) if (p.name === name) viaSdk.push(p.managed === true);
        assert.deepEqual(viaSdk, [true, true]);
    });

    it("refuses delete and update of the certificate's key and secret with 403 (recorded bodies), and restoring over them", async () => {
        const name = uniqueName("refuse");
        await create(client, name);
        const del = await rawRequest(`${base}/keys/${name}?api-version=7.4`, { method: "DELETE", token });
        assert.equal(del.status, 403);
        assert.deepEqual(del.json, {
            error: { code: "Forbidden", message: `Operation "delete" is not allowed as this object's lifetime is managed by Key Vault.`, innererror: { code: "KeyManagedByKeyVault" } },
        });
        const delSecret = await rawRequest(`${base}/secrets/${name}?api-version=7.4`, { method: "DELETE", token });
        assert.equal(delSecret.status, 403);
        assert.deepEqual(delSecret.json, {
            error: {
                code: "Forbidden",
                message: `Operation "delete" is not allowed on this secret, since it is associated with a certificate. Perform the operation on the corresponding certificate. ${MANAGED_HELP}`,
                innererror: { code: "SecretManagedByKeyVault" },
            },
        });
        const updKey = await rawRequest(`${base}/keys/${name}/?api-version=7.4`, { method: "PATCH", token, body: { attributes: { enabled: false } } });
        assert.equal(updKey.status, 403);
        assert.match(updKey.json.error.message, /^Operation "update" is not allowed on this Key, since it is associated with a certificate\./);
        assert.equal(updKey.json.error.innererror.code, "KeyManagedByKeyVault");
        const updSecret = await rawRequest(`${base}/secrets/${name}/?api-version=7.4`, { method: "PATCH", token, body: { contentType: "x" } });
        assert.equal(updSecret.json.error.innererror.code, "SecretManagedByKeyVault");
        const set = await rawRequest(`${base}/secrets/${name}?api-version=7.4`, { method: "PUT", token, body: { value: "x" } });
        assert.equal(set.json.error.innererror.code, "SecretManagedByKeyVault");
        // a plain secret's blob whose name is now the certificate's secret
        const other = await startTestEmulator({ vaults: ["cert-src"], backupKey: "certs-geo" });
        try {
            const src = secretClientFor(other, "cert-src");
            await src.setSecret(name, "plain");
            const blob = (await src.backupSecret(name))!;
            await assertServiceError(
                secretClientFor(emulator, "cert-vault").restoreSecretBackup(blob),
                403,
                "Forbidden",
                `Operation "restore" is not allowed on this secret, since it is associated with a certificate. Perform the operation on the corresponding certificate. ${MANAGED_HELP}`,
            );
            // A plain key's blob whose name is now the certificate's key: Restore Key is refused the same
            // way, 403 Forbidden with inner code KeyManagedByKeyVault (reference, keys-certificates-behaviour.md,
            // Errors: "Operation "update" is not allowed on this Key, since it is associated with a
            // certificate." for other operations on a certificate's key; the tail of that text was not recorded).
            await keyClientFor(other, "cert-src").createEcKey(name, { curve: "P-256" });
            const keyBlob = (await keyClientFor(other, "cert-src").backupKey(name))!;
            const keyBefore = await keyClientFor(emulator, "cert-vault").getKey(name);
            await assert.rejects(keyClientFor(emulator, "cert-vault").restoreKeyBackup(keyBlob), (e: { statusCode?: number; code?: string; message?: string; details?: { error?: { innerError?: { code?: string } } } }) => {
                assert.equal(e.statusCode, 403, `status of: ${e.message}`);
                assert.equal(e.code, "Forbidden");
                assert.equal(e.details?.error?.innerError?.code, "KeyManagedByKeyVault");
                assert.ok(e.message?.startsWith(`Operation "restore" is not allowed on this Key, since it is associated with a certificate.`), e.message);
                return true;
            });
            const keyAfter = await keyClientFor(emulator, "cert-vault").getKey(name);
            assert.equal(keyAfter.id, keyBefore.id, "the certificate's key is unchanged");
            assert.equal(keyAfter.properties.managed, true);
        } finally {
            await other.close();
        }
        assert.equal((await keyClientFor(emulator, "cert-vault").getKey(name)).properties.enabled, true, "nothing changed");
    });

    it("backup of the certificate's key or secret alone: refused with 403 by default (a guess), allowed with managedBackup: \"allow\"", async () => {
        const name = uniqueName("mbackup");
        await create(client, name);
        const keyBackup = await rawRequest(`${base}/keys/${name}/backup?api-version=7.4`, { method: "POST", token });
        assert.equal(keyBackup.status, 403);
        assert.equal(keyBackup.json.error.code, "Forbidden");
        assert.equal(keyBackup.json.error.innererror.code, "KeyManagedByKeyVault");
        assert.match(keyBackup.json.error.message, /^Operation "backup" is not allowed on this Key, since it is associated with a certificate\./);
        const secretBackup = await rawRequest(`${base}/secrets/${name}/backup?api-version=7.4`, { method: "POST", token });
        assert.equal(secretBackup.status, 403);
        assert.equal(secretBackup.json.error.innererror.code, "SecretManagedByKeyVault");
        assert.match(secretBackup.json.error.message, /^Operation "backup" is not allowed on this secret, since it is associated with a certificate\./);

        const allowed = certificateClientFor(allow, "cert-allow");
        await create(allowed, name);
        const secretBlob = await secretClientFor(allow, "cert-allow").backupSecret(name);
        assert.equal(Buffer.from(secretBlob!).subarray(1, 42).toString("ascii"), "AzureKeyVaultSecretBackupV1.microsoft.com");
        const keyBlob = await keyClientFor(allow, "cert-allow").backupKey(name);
        assert.equal(Buffer.from(keyBlob!)[0], 0x26);
    });

    it("imports a PFX with and without a password, and a PEM; the policy and the secret follow the import", async () => {
        for (const password of ["s3cret-pfx-pass", null]) {
            const name = uniqueName("import");
            const { pfx, der } = makePfx(password);
            const cert = await client.importCertificate(name, pfx, password ? { password } : {});
            assert.deepEqual(Buffer.from(cert.cer!), der);
            assert.equal(Buffer.from(cert.properties.x509Thumbprint!).toString("base64url"), createHash("sha1").update(der).digest("base64url"));
            assert.equal(cert.policy!.issuerName, "Unknown");
            const secret = await secretClientFor(emulator, "cert-vault").getSecret(name);
            assert.deepEqual(openPfx(secret.value!).certDer, der, "the secret is a PFX without password holding the imported certificate");
            assert.ok(!secret.value!.includes("s3cret"));
        }
        await assertServiceError(client.importCertificate(uniqueName("badpwd"), makePfx("right").pfx, { password: "wrong" }), 400, "BadParameter", /PKCS#12/);
        const pemName = uniqueName("importpem");
        const source = await create(client, uniqueName("pemsrc"), { ...POLICY, contentType: "application/x-pem-file" });
        const pemValue = (await secretClientFor(emulator, "cert-vault").getSecret(source.name)).value!;
        const imported = await client.importCertificate(pemName, Buffer.from(pemValue), { policy: { contentType: "application/x-pem-file", issuerName: "Unknown" } as CertificatePolicy });
        assert.deepEqual(Buffer.from(imported.cer!), Buffer.from(source.cer!));
        assert.equal((await secretClientFor(emulator, "cert-vault").getSecret(pemName)).properties.contentType, "application/x-pem-file");
    });

    it("gets the policy, lists certificates and versions in pages", async () => {
        const page = certificateClientFor(emulator, "cert-page");
        const names = ["cp-0", "cp-1", "cp-2"];
        for (const n of names) await create(page, n);
        const second = await create(page, "cp-0");
        // (the certificates SDK does not pass maxPageSize on: pages are checked on the wire)
        const listed: string[] = [];
        for await (const c of page.listPropertiesOfCertificates()) listed.push(c.name!);
        assert.deepEqual(listed, names);
        const versions: string[] = [];
        for await (const c of page.listPropertiesOfCertificateVersions("cp-0")) versions.push(c.version!);
        assert.equal(versions.length, 2);
        assert.equal(versions[1], second.properties.version);
        const pageToken0 = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        const first = await rawRequest(`${emulator.vaults["cert-page"]}/certificates/cp-0/versions?api-version=7.4&maxresults=1`, { token: pageToken0 });
        assert.equal(first.json.value.length, 1);
        const next = await rawRequest(first.json.nextLink, { token: pageToken0 });
        assert.equal(next.json.value[0].id, `${emulator.vaults["cert-page"]}/certificates/cp-0/${second.properties.version}`);
        assert.equal(next.json.nextLink, null);
        const policy = await page.getCertificatePolicy("cp-0");
        assert.equal(policy.subject, "CN=emulated.example");
        const pageToken = (await credentialFor(emulator).getToken("https://vault.azure.net/.default")).token;
        const item = (await rawRequest(`${emulator.vaults["cert-page"]}/certificates?api-version=7.4&maxresults=1`, { token: pageToken })).json.value[0];
        assert.deepEqual(Object.keys(item).sort(), ["attributes", "id", "x5t"]);
        assert.equal(item.id, `${emulator.vaults["cert-page"]}/certificates/cp-0`);
    });

    it("deletes, recovers and purges the certificate with its key and secret; recover of one never deleted is 404 with the long text", async () => {
        const name = uniqueName("life");
        const cert = await create(client, name);
        const secrets = secretClientFor(emulator, "cert-vault");
        const keys = keyClientFor(emulator, "cert-vault");
        // (the SDK's recover poller looks the certificate up first, so this one goes raw)
        const notDeleted = await rawRequest(`${base}/deletedcertificates/${name}/recover?api-version=7.4`, { method: "POST", token });
        assert.equal(notDeleted.status, 404);
        assert.deepEqual(notDeleted.json, { error: { code: "CertificateNotFound", message: CERT_NOT_FOUND(name) } });
        const raw = await rawRequest(`${base}/certificates/${name}?api-version=7.4`, { method: "DELETE", token });
        assert.equal(raw.status, 200);
        assert.equal(raw.json.recoveryId, `${base}/deletedcertificates/${name}`);
        assert.equal(raw.json.scheduledPurgeDate - raw.json.deletedDate, 90 * 86400);
        assert.equal(raw.json.id, cert.properties.id);
        assert.ok(raw.json.policy);
        await assertServiceError(secrets.getSecret(name), 404, "SecretNotFound", /^A secret with \(name\/id\) /);
        await assertServiceError(keys.getKey(name), 404, "KeyNotFound", /^A key with \(name\/id\) /);
        await (await client.beginRecoverDeletedCertificate(name, { intervalInMs: 20 })).pollUntilDone();
        assert.equal((await secrets.getSecret(name)).properties.version, cert.properties.version);
        assert.equal((await keys.getKey(name)).properties.version, cert.properties.version);
        await (await client.beginDeleteCertificate(name, { intervalInMs: 20 })).pollUntilDone();
        const purge = await rawRequest(`${base}/deletedcertificates/${name}?api-version=7.4`, { method: "DELETE", token });
        assert.equal(purge.status, 204);
        assert.equal(purge.text, "");
        await assertServiceError(client.getDeletedCertificate(name), 404, "CertificateNotFound", `Deleted Certificate not found: ${name}`);
        await assertServiceError(keys.getDeletedKey(name), 404, "KeyNotFound", `Deleted Key not found: ${name}`);
        await assertServiceError(secrets.getDeletedSecret(name), 404, "SecretNotFound", `Deleted Secret not found: ${name}`);
    });

    it("backs up (0x26 + the key tag) and restores after delete and purge: same id, x5t, cer, policy; the key signs for the certificate and the secret value is the same", async () => {
        const name = uniqueName("cround");
        const cert = await create(client, name, { ...POLICY, keyType: "EC", keyCurveName: "P-384" });
        const secretBefore = (await secretClientFor(emulator, "cert-vault").getSecret(name)).value;
        const blob = Buffer.from((await client.backupCertificate(name))!);
        assert.equal(blob[0], 0x26);
        assert.equal(blob.subarray(1, 39).toString("ascii"), "AzureKeyVaultKeyBackupV1.microsoft.com");
        const jwe = blob.subarray(39).toString("ascii");
        assert.equal(jwe.split(".").length, 5);
        assert.deepEqual(Object.keys(jose.decodeProtectedHeader(jwe)).sort(), ["alg", "enc", "kid"]);
        await (await client.beginDeleteCertificate(name, { intervalInMs: 20 })).pollUntilDone();
        await client.purgeDeletedCertificate(name);
        const restored = await client.restoreCertificateBackup(blob);
        assert.equal(restored.properties.id, cert.properties.id);
        assert.equal(restored.keyId, cert.keyId);
        assert.equal(restored.secretId, cert.secretId);
        assert.deepEqual(restored.properties.x509Thumbprint, cert.properties.x509Thumbprint);
        assert.deepEqual(restored.cer, cert.cer);
        assert.equal(restored.properties.createdOn!.getTime(), cert.properties.createdOn!.getTime());
        assert.equal(restored.policy!.keyCurveName, "P-384");
        const secret = await secretClientFor(emulator, "cert-vault").getSecret(name);
        assert.equal(secret.value, secretBefore);
        assert.equal(secret.properties.managed, true);
        const key = await keyClientFor(emulator, "cert-vault").getKey(name);
        assert.equal(key.properties.managed, true);
        const data = Buffer.from("restored certificate key");
        const sig = await new CryptographyClient(key.id!, credentialFor(emulator), { disableChallengeResourceVerification: true }).signData("ES384", data);
        const publicKey = createPublicKey(new X509Certificate(Buffer.from(cert.cer!)).publicKey.export({ type: "spki", format: "pem" }));
        assert.ok(nodeVerify("sha384", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(sig.result)), "the original certificate's key verifies");
    });

    it("refuses restore while the name is in use (409) and blobs of the wrong kind or bytes (400 Malformed backup blob)", async () => {
        const corrupt = "Backup blob contains invalid or corrupt version.";
        const name = uniqueName("cbusy");
        const cert = await create(client, name);
        const blob = (await client.backupCertificate(name))!;
        await assertServiceError(client.restoreCertificateBackup(blob), 409, "Conflict", /^There was a conflict restoring the certificate '/);
        await assertServiceError(client.restoreCertificateBackup(blob), 409, "Conflict", new RegExp(`'${cert.properties.id!.replace(/[.]/g, "\\.")}'`));
        await assertServiceError(client.restoreCertificateBackup(new Uint8Array(64)), 400, "Malformed backup blob", corrupt);
        const missing = uniqueName("nocert");
        await assertServiceError(client.backupCertificate(missing), 404, "CertificateNotFound", CERT_NOT_FOUND(missing));
        const keys = keyClientFor(emulator, "cert-vault");
        await assertServiceError(keys.restoreKeyBackup(blob), 400, "Malformed backup blob", corrupt);
        const keyName = uniqueName("kblob");
        await keys.createKey(keyName, "EC");
        const keyBlob = (await keys.backupKey(keyName))!;
        await assertServiceError(client.restoreCertificateBackup(keyBlob), 400, "Malformed backup blob", corrupt);
        await assertServiceError(client.getCertificate(keyName), 404, "CertificateNotFound", CERT_NOT_FOUND(keyName));
    });

    it("checks certificate permissions ([1] may get and list only; RBAC names the certificates data action); faults apply to certificate routes", async () => {
        const name = uniqueName("cperm");
        await create(client, name);
        const reader = certificateClientFor(emulator, "cert-vault", 1);
        assert.equal((await reader.getCertificate(name)).name, name);
        await assertServiceError(
            reader.backupCertificate(name),
            403,
            "Forbidden",
            `The user, group or application '${caller(1)}' does not have certificates backup permission on key vault 'cert-vault;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        );
        await create(certificateClientFor(emulator, "cert-rbac"), name);
        const blob = (await certificateClientFor(emulator, "cert-rbac").backupCertificate(name))!;
        await assertServiceError(certificateClientFor(emulator, "cert-rbac", 1).backupCertificate(name), 403, "Forbidden", /Action: 'Microsoft\.KeyVault\/vaults\/certificates\/backup\/action'\r\nResource: '[^']*\/vaults\/cert-rbac\/certificates\//);
        await assertServiceError(certificateClientFor(emulator, "cert-rbac", 1).restoreCertificateBackup(blob), 403, "Forbidden", /Action: 'Microsoft\.KeyVault\/vaults\/certificates\/restore\/action'/);
        emulator.faults.add({ vault: "cert-vault", operation: "certificate.backup", kind: "status", status: 500 });
        await assert.rejects(client.backupCertificate(name), (e: { statusCode?: number }) => e.statusCode === 500);
        assert.ok((await client.backupCertificate(name))!.length > 1000);
    });

    it("serves certificates from a seed, with their key and secret", async () => {
        const c = await certificateClientFor(emulator, "cert-seeded").getCertificate("seeded-cert");
        assert.equal(c.policy!.subject, "CN=seeded-cert");
        assert.equal((await secretClientFor(emulator, "cert-seeded").getSecret("seeded-cert")).properties.managed, true);
    });
});
