import { strict as assert } from "node:assert";
import { factsFromError, VaultError, type VaultCallContext, type VaultErrorFacts } from "../../provider/errors";

/** The message a failed call of `context` gets, as users see it on the thrown `VaultError`. */
const formatVaultError = (context: VaultCallContext, facts: VaultErrorFacts): string => new VaultError(context, facts).message;

const context = { operation: "backup", vaultUrl: "https://myvault.vault.azure.net", secretName: "db-password" };

describe("Key Vault error messages", () => {
    // The emulator produces most of these for real (see operations.test); this table covers the
    // codes only a real vault's configuration produces (RBAC, firewall, disabled secret).
    const table: Array<[string, VaultErrorFacts, RegExp]> = [
        ["401", { status: 401, code: "Unauthorized" }, /did not accept the credential/],
        ["403 AccessDenied", { status: 403, code: "Forbidden", innerCode: "AccessDenied" }, /grant the identity the secrets "backup" permission/],
        ["403 ForbiddenByRbac", { status: 403, code: "Forbidden", innerCode: "ForbiddenByRbac" }, /Microsoft\.KeyVault\/vaults\/secrets\/backup\/action/],
        ["403 ForbiddenByFirewall", { status: 403, code: "Forbidden", innerCode: "ForbiddenByFirewall" }, /vault's firewall/],
        ["403 SecretDisabled", { status: 403, code: "Forbidden", innerCode: "SecretDisabled" }, /enable the secret "db-password" \(Key Vault refused it because its current version is disabled\)/],
        ["404", { status: 404, code: "SecretNotFound" }, /check that the secret "db-password" exists/],
        ["409", { status: 409, code: "Conflict" }, /recover or purge it/],
        ["429", { status: 429, code: "Throttled" }, /the vault is throttling/],
        ["500", { status: 500, code: "InternalServerError" }, /internal error/],
        ["ECONNREFUSED", { code: "ECONNREFUSED" }, /could not reach https:\/\/myvault\.vault\.azure\.net/],
        ["no credential", { code: "CredentialUnavailableError" }, /no usable Azure credential/],
        ["credential refused", { code: "AuthenticationError" }, /Entra ID refused the credential: check azure-native:clientId/],
    ];
    for (const [what, facts, todo] of table) {
        it(`${what}: facts first, then one "What to do:" line`, () => {
            const message = formatVaultError(context, { ...facts, message: "service text", requestId: "0000-1" });
            const [first, ...rest] = message.split("\n");
            assert.ok(first.startsWith(`backup of secret "db-password" in vault https://myvault.vault.azure.net failed (`), first);
            if (facts.status) assert.ok(first.includes(`HTTP ${facts.status}`));
            if (facts.innerCode) assert.ok(first.includes(`inner code ${facts.innerCode}`));
            assert.ok(first.endsWith("request id 0000-1): service text"), first);
            assert.equal(rest.length, 1);
            assert.match(rest[0], /^What to do: /);
            assert.match(rest[0], todo);
        });
    }

    it("403 ForbiddenByRbac while listing a vault names the list data action, not the backup one", () => {
        const listing = { operation: "list", vaultUrl: "https://myvault.vault.azure.net", secretName: "*" };
        const message = formatVaultError(listing, { status: 403, code: "Forbidden", innerCode: "ForbiddenByRbac" });
        assert.match(message, /What to do: .*Microsoft\.KeyVault\/vaults\/secrets\/readMetadata\/action/);
        assert.doesNotMatch(message, /backup\/action/);
    });

    it("reads status, code, inner code, message and request id from the SDK's RestError shape", () => {
        const restError = {
            name: "RestError", statusCode: 403, code: "Forbidden", message: "long sdk text",
            details: { error: { code: "Forbidden", message: "no backup permission", innerError: { code: "AccessDenied" } } },
            response: { headers: { get: (h: string) => (h === "x-ms-request-id" ? "abc-123" : undefined) } },
        };
        assert.deepEqual(factsFromError(restError), { status: 403, code: "Forbidden", innerCode: "AccessDenied", message: "no backup permission", requestId: "abc-123" });
        const e = new VaultError(context, factsFromError(restError));
        assert.equal(e.facts.status, 403);
        assert.match(e.message, /HTTP 403, code Forbidden, inner code AccessDenied, request id abc-123\): no backup permission/);
    });

    it("keeps only the first line of an identity error", () => {
        const facts = factsFromError({ name: "AuthenticationError", message: "AADSTS7000215: Invalid client secret provided.\nTrace ID: x\nmore" });
        assert.deepEqual(facts, { code: "AuthenticationError", message: "AADSTS7000215: Invalid client secret provided." });
    });

    it("a key's or certificate's failure names that kind, its permission, data action and role", () => {
        const key = { operation: "backup", vaultUrl: "https://myvault.vault.azure.net", secretName: "signing", kind: "key" as const };
        assert.match(formatVaultError(key, { status: 403, code: "Forbidden", innerCode: "AccessDenied" }), /^backup of key "signing" in vault .*\nWhat to do: grant the identity the keys "backup" permission/s);
        assert.match(formatVaultError(key, { status: 403, code: "Forbidden", innerCode: "ForbiddenByRbac" }), /data action Microsoft\.KeyVault\/vaults\/keys\/backup\/action on the vault \(e\.g\. "Key Vault Crypto Officer"\)/);
        const cert = { ...key, kind: "certificate" as const, secretName: "tls" };
        assert.match(formatVaultError(cert, { status: 404, code: "CertificateNotFound" }), /check that the certificate "tls" exists .* and that certificateName and vaultUrl are spelled right/);
        assert.match(formatVaultError({ ...cert, operation: "list" }, { status: 403, code: "Forbidden", innerCode: "ForbiddenByRbac" }), /Microsoft\.KeyVault\/vaults\/certificates\/read/);
    });

    it("Key Vault's 403 for a certificate's managed key (recorded inner code KeyManagedByKeyVault) says to back up the certificate", () => {
        const key = { operation: "backup", vaultUrl: "https://myvault.vault.azure.net", secretName: "tls", kind: "key" as const };
        const message = formatVaultError(key, { status: 403, code: "Forbidden", innerCode: "KeyManagedByKeyVault", message: "Operation \"delete\" is not allowed as this object's lifetime is managed by Key Vault." });
        assert.match(message, /What to do: "tls" is the key Key Vault keeps for the certificate "tls": .* Back up the certificate instead \(CertificateBackup with certificateName "tls"/);
    });

    it("a 404 without the kind's not-found code (something other than the vault at vaultUrl) says to check vaultUrl, not that the object exists", () => {
        const key = { operation: "backup", vaultUrl: "https://myvault.example.com", secretName: "signing", kind: "key" as const };
        const message = formatVaultError(key, { status: 404, message: "Not Found" });
        assert.match(message, /^backup of key "signing" in vault https:\/\/myvault\.example\.com failed \(HTTP 404.*\): Not Found\nWhat to do: the server at https:\/\/myvault\.example\.com answered 404 without Key Vault's KeyNotFound: check that vaultUrl is the vault's own URL/);
        assert.doesNotMatch(message, /check that the key "signing" exists/);
        // Key Vault's own 404 for a missing key (keys-certificates-behaviour.md) keeps its advice.
        assert.match(formatVaultError(key, { status: 404, code: "KeyNotFound" }), /check that the key "signing" exists/);
    });

    it("a 403 with the kind's managed inner code alone (no telling message) still says to back up the certificate; another kind's code does not", () => {
        const secret = { operation: "backup", vaultUrl: "https://myvault.vault.azure.net", secretName: "tls", kind: "secret" as const };
        assert.match(formatVaultError(secret, { status: 403, code: "Forbidden", innerCode: "SecretManagedByKeyVault", message: "service text" }), /What to do: "tls" is the secret Key Vault keeps for the certificate "tls"/);
        const cert = { ...secret, kind: "certificate" as const };
        assert.match(formatVaultError(cert, { status: 403, code: "Forbidden", innerCode: "AccessDenied", message: "service text" }), /What to do: grant the identity the certificates "backup" permission/);
    });
});
