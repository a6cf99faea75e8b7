import { strict as assert } from "node:assert";
import { KINDS, kindOfProps, kindsWithTag } from "../../provider/kinds";

// The kind table: every row's SDK names what the installed Azure SDK really has (a typo or an SDK
// rename would otherwise show only when that call is made), and the lookups the provider relies on.
describe("the object kind table (provider/kinds.ts)", () => {
    for (const info of Object.values(KINDS)) {
        it(`${info.kind}: ${info.sdk.module} has ${info.sdk.clientClass} with every method the row names`, () => {
            const Client = (require(info.sdk.module) as Record<string, { prototype: Record<string, unknown> }>)[info.sdk.clientClass];
            assert.equal(typeof Client, "function", `${info.sdk.module} exports no ${info.sdk.clientClass}`);
            for (const call of ["backup", "restore", "list", "listVersions", "listDeleted"] as const) {
                assert.equal(typeof Client.prototype[info.sdk[call]], "function", `${info.sdk.clientClass}.${info.sdk[call]} (${call})`);
            }
        });
    }

    it("tells the kind from the name property, a secret when there is none (state from before keys and certificates)", () => {
        assert.equal(kindOfProps({ keyName: "k" }).kind, "key");
        assert.equal(kindOfProps({ certificateName: "c" }).kind, "certificate");
        assert.equal(kindOfProps({ secretName: "s" }).kind, "secret");
        assert.equal(kindOfProps({}).kind, "secret");
    });

    it("keys and certificates share one blob tag; secrets have their own (as recorded)", () => {
        assert.deepEqual(kindsWithTag("AzureKeyVaultKeyBackupV1.microsoft.com").map((k) => k.kind), ["key", "certificate"]);
        assert.deepEqual(kindsWithTag("AzureKeyVaultSecretBackupV1.microsoft.com").map((k) => k.kind), ["secret"]);
    });

    it("each row's not-found code and managed inner code are Key Vault's recorded ones (reference error tables); certificates have no managed code", () => {
        // keyvault-behaviour.md: `| 404 | SecretNotFound |`; keys-certificates-behaviour.md: `| 404 | KeyNotFound |`,
        // `| 404 | CertificateNotFound |`, and 403 Forbidden with innererror `KeyManagedByKeyVault` / `SecretManagedByKeyVault`.
        assert.deepEqual(Object.values(KINDS).map((k) => [k.kind, k.notFoundCode, k.managedInnerCode]), [
            ["secret", "SecretNotFound", "SecretManagedByKeyVault"],
            ["key", "KeyNotFound", "KeyManagedByKeyVault"],
            ["certificate", "CertificateNotFound", undefined],
        ]);
    });
});
