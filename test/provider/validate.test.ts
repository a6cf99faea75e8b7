import { strict as assert } from "node:assert";
import {
    UNKNOWN, SUPPORTED_API_VERSIONS, inputFailures, normalizeInputs, changedInputs,
    vaultUrlProblem, apiVersionProblem, isLoopbackHost,
} from "../../provider/validate";

describe("validate: SecretBackup inputs", () => {
    const good = { vaultUrl: "https://myvault.vault.azure.net", secretName: "db-password" };

    const vaultUrls: Array<[string, unknown, RegExp | undefined]> = [
        ["public cloud", "https://myvault.vault.azure.net", undefined],
        ["trailing slash", "https://myvault.vault.azure.net/", undefined],
        ["China cloud", "https://kv-1.vault.azure.cn", undefined],
        ["US Government cloud", "https://gov-vault.vault.usgovcloudapi.net", undefined],
        ["emulator on 127.0.0.1 with port", "https://127.0.0.1:41234", undefined],
        ["emulator on localhost", "https://localhost:8443", undefined],
        ["emulator on [::1]", "https://[::1]:8443", undefined],
        ["missing", undefined, /vaultUrl is required/],
        ["http", "http://myvault.vault.azure.net", /must use https/],
        ["not a URL", "myvault", /not a URL/],
        ["another host", "https://example.com", /not a Key Vault host/],
        ["look-alike host", "https://myvault.vault.azure.net.evil.com", /not a Key Vault host/],
        ["path", "https://myvault.vault.azure.net/secrets/x", /base URL only/],
        ["query", "https://myvault.vault.azure.net/?x=1", /base URL only/],
        ["user info", "https://u:p@myvault.vault.azure.net", /base URL only/],
        ["vault name too short", "https://ab.vault.azure.net", /not a valid vault name/],
        ["vault name with double hyphen", "https://my--vault.vault.azure.net", /not a valid vault name/],
        ["port on a real vault", "https://myvault.vault.azure.net:8443", /must not name a port/],
        ["a number", 42, /vaultUrl is required/],
    ];
    for (const [what, value, expected] of vaultUrls) {
        it(`vaultUrl ${what}: ${expected ? "rejected" : "accepted"}`, () => {
            const reason = vaultUrlProblem(value);
            if (expected) assert.match(reason ?? "", expected);
            else assert.equal(reason, undefined);
        });
    }

    const names: Array<[unknown, boolean]> = [
        ["db-password", true], ["A1", true], ["x".repeat(127), true],
        ["", false], ["x".repeat(128), false], ["db_password", false], ["db.password", false], ["dbé", false], [undefined, false],
    ];
    for (const [value, ok] of names) {
        it(`secretName ${JSON.stringify(value)?.slice(0, 20)}${String(value).length > 20 ? "…" : ""} (${String(value).length}): ${ok ? "accepted" : "rejected"}`, () => {
            const failures = inputFailures({ ...good, secretName: value }).filter((f) => f.property === "secretName");
            assert.equal(failures.length === 0, ok, failures[0]?.reason);
        });
    }

    it("apiVersion: every version the SDK supports is accepted, 7.4 among them", () => {
        assert.ok(SUPPORTED_API_VERSIONS.includes("7.4"));
        for (const v of SUPPORTED_API_VERSIONS) assert.equal(apiVersionProblem(v), undefined, v);
    });
    it("apiVersion as a number (what YAML config gives) is accepted and normalised to the string", () => {
        assert.equal(apiVersionProblem(7.4), undefined);
        assert.equal(normalizeInputs({ ...good, apiVersion: 7.4 }).apiVersion, "7.4");
        assert.equal(normalizeInputs({ ...good, apiVersion: 7 }).apiVersion, "7.0");
        assert.equal(normalizeInputs({ ...good, apiVersion: 7.6 }).apiVersion, "7.6");
        assert.equal(normalizeInputs({ ...good, apiVersion: "7.5" }).apiVersion, "7.5");
        assert.equal(normalizeInputs({ ...good, apiVersion: UNKNOWN }).apiVersion, UNKNOWN);
        assert.deepEqual(inputFailures({ ...good, apiVersion: 7.4 }), []);
    });
    for (const bad of ["2016-10-01", "7.9", "latest", 7.9, 2025, "7.40"]) {
        it(`apiVersion ${JSON.stringify(bad)} is refused with the supported list`, () => {
            assert.match(apiVersionProblem(bad) ?? "", /is not an API version this provider supports; use one of 7\.0, .*7\.4/);
        });
    }

    it("reports one failure per bad property, named", () => {
        const failures = inputFailures({ vaultUrl: "http://x", secretName: "a_b", apiVersion: "1.0", secretVersion: "v/1", triggers: "x", destination: "" });
        assert.deepEqual(failures.map((f) => f.property), ["vaultUrl", "secretName", "apiVersion", "secretVersion", "triggers", "destination"]);
    });

    it("passes unknown values (preview) through, including unknowns inside triggers", () => {
        assert.deepEqual(inputFailures({ vaultUrl: UNKNOWN, secretName: UNKNOWN, triggers: [1, UNKNOWN], secretVersion: UNKNOWN }), []);
    });

    it("applies defaults and reduces the vault URL to its origin", () => {
        assert.deepEqual(normalizeInputs({ ...good, vaultUrl: "https://MyVault.vault.azure.net/" }), {
            vaultUrl: "https://myvault.vault.azure.net", secretName: "db-password", destination: "./secret-backups",
            secretVersion: "", triggers: [], apiVersion: "7.4",
        });
    });

    it("changedInputs names exactly the inputs that changed, and none when nothing did", () => {
        const olds = normalizeInputs({ ...good, triggers: [1, { a: 2 }] });
        assert.deepEqual(changedInputs(olds, normalizeInputs({ ...good, triggers: [1, { a: 2 }] })), []);
        assert.deepEqual(changedInputs(olds, normalizeInputs({ ...good, triggers: [1, { a: 3 }], secretVersion: "abc" })), ["secretVersion", "triggers"]);
        assert.deepEqual(changedInputs(olds, normalizeInputs({ ...good, triggers: [1, { a: 2 }], destination: UNKNOWN })), ["destination"]);
    });

    it("loopback hosts are only this machine's", () => {
        assert.ok(isLoopbackHost("127.0.0.1") && isLoopbackHost("localhost") && isLoopbackHost("[::1]") && isLoopbackHost("127.1.2.3"));
        assert.ok(!isLoopbackHost("127.0.0.1.nip.io") && !isLoopbackHost("10.0.0.1") && !isLoopbackHost("localhost.example.com"));
    });
});
