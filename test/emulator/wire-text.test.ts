import * as assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { credentialFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest, type RawResponse } from "./raw";

// The emulator's secret errors as they come off the wire (status, error code, inner code, message),
// pinned to the text recorded from the real service in /work/shared/reference/keyvault-behaviour.md
// ("Errors" and "Authentication"). Every expectation is written out here, on purpose not built with
// emulator/errors.ts: a wrong constructor there must fail this test. Where the reference gives only
// the start of a message ("..."), the start is pinned.
const V = "7.4";
const VAULT = "wire-vault";

/** What the reference says one error looks like: an exact message, or the start of one. */
interface Expected {
    status: number;
    code: string;
    innerCode?: string;
    message?: string;
    messageStartsWith?: string;
}

function assertWire(res: RawResponse, e: Expected): void {
    assert.equal(res.status, e.status, res.text);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    const error = res.json?.error as { code: string; message: string; innererror?: { code: string } };
    assert.ok(error, `an {"error":{...}} body: ${res.text}`);
    assert.deepEqual(Object.keys(error).sort(), e.innerCode ? ["code", "innererror", "message"] : ["code", "message"], "innererror only where there is a sub-code");
    assert.equal(error.code, e.code);
    assert.equal(error.innererror?.code, e.innerCode);
    if (e.message !== undefined) assert.equal(error.message, e.message);
    if (e.messageStartsWith !== undefined) assert.ok(error.message.startsWith(e.messageStartsWith), `message starts with ${JSON.stringify(e.messageStartsWith)}: ${error.message}`);
}

describe("emulator: error text on the wire, as the service's recorded text", () => {
    let emulator: RunningEmulator;
    let base: string;
    const tokens: string[] = [];

    before(async () => {
        emulator = await startTestEmulator({
            vaults: [VAULT],
            seed: { vaults: { "wire-rbac": { accessModel: "rbac", secrets: { s1: "v" } }, "wire-fw": { firewall: "deny" } } },
        });
        base = emulator.vaults[VAULT];
        for (const i of [0, 1]) tokens.push((await credentialFor(emulator, i).getToken("https://vault.azure.net/.default")).token);
    });
    after(async () => emulator?.close());

    const call = (path: string, method = "GET", body?: unknown, token = tokens[0], url = base) =>
        rawRequest(`${url}${path}${path.includes("?") ? "&" : "?"}api-version=${V}`, { method, body, token });

    /** A new secret holding "v"; returns its name and version. */
    async function newSecret(prefix: string, attributes?: Record<string, unknown>): Promise<{ name: string; version: string }> {
        const name = uniqueName(prefix);
        const res = await call(`/secrets/${name}`, "PUT", { value: "v", ...(attributes ? { attributes } : {}) });
        assert.equal(res.status, 200, res.text);
        return { name, version: String(res.json.id).split("/").pop()! };
    }

    async function deleteAndPurge(name: string): Promise<void> {
        assert.equal((await call(`/secrets/${name}`, "DELETE")).status, 200);
        assert.equal((await call(`/deletedsecrets/${name}`, "DELETE")).status, 204);
    }

    it("401 Unauthorized without a token: AKV10000 and the bearer challenge", async () => {
        const res = await rawRequest(`${base}/secrets/any/backup?api-version=${V}`, { method: "POST" });
        assertWire(res, { status: 401, code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." });
        assert.equal(res.headers["www-authenticate"], `Bearer authorization="${emulator.authorityHost}/${emulator.tenantId}", resource="https://vault.azure.net"`);
    });

    it("401 Unauthorized for a token with the wrong audience (AKV10022) or issuer (AKV10032), with the challenge", async () => {
        const audience = await call("/secrets/any/", "GET", undefined, await emulator.mintToken(0, { audience: "https://storage.azure.com" }));
        assertWire(audience, { status: 401, code: "Unauthorized", messageStartsWith: "AKV10022: Invalid audience" });
        assert.match(String(audience.headers["www-authenticate"]), /^Bearer authorization="/);
        const issuer = await call("/secrets/any/", "GET", undefined, await emulator.mintToken(0, { issuer: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/" }));
        assertWire(issuer, { status: 401, code: "Unauthorized", messageStartsWith: "AKV10032: Invalid issuer" });
    });

    it("403 Forbidden, inner code AccessDenied: the caller, the permission and the vault", async () => {
        const { name } = await newSecret("wire-denied");
        const p = emulator.principals[1];
        assertWire(await call(`/secrets/${name}/backup`, "POST", undefined, tokens[1]), {
            status: 403, code: "Forbidden", innerCode: "AccessDenied",
            message: `The user, group or application 'appid=${p.clientId};oid=${p.objectId};iss=https://sts.windows.net/${emulator.tenantId}/' does not have secrets backup permission on key vault '${VAULT};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        });
    });

    it("403 Forbidden, inner code ForbiddenByRbac, naming the data action", async () => {
        const res = await call("/secrets/s1/backup", "POST", undefined, tokens[1], emulator.vaults["wire-rbac"]);
        assertWire(res, { status: 403, code: "Forbidden", innerCode: "ForbiddenByRbac", messageStartsWith: "Caller is not authorized to perform action on resource." });
        assert.ok(res.json.error.message.includes("Action: 'Microsoft.KeyVault/vaults/secrets/backup/action'"), res.json.error.message);
    });

    it("403 Forbidden, inner code ForbiddenByFirewall", async () => {
        assertWire(await call("/secrets/any/", "GET", undefined, tokens[0], emulator.vaults["wire-fw"]), {
            status: 403, code: "Forbidden", innerCode: "ForbiddenByFirewall", messageStartsWith: "Client address is not authorized and caller is not a trusted service.",
        });
    });

    it("403 Forbidden, inner code SecretDisabled, reading a disabled secret", async () => {
        const { name } = await newSecret("wire-disabled", { enabled: false });
        assertWire(await call(`/secrets/${name}/`), { status: 403, code: "Forbidden", innerCode: "SecretDisabled", message: "Operation get is not allowed on a disabled secret." });
    });

    it("404 SecretNotFound for a secret, and for a deleted secret", async () => {
        const name = uniqueName("wire-missing");
        const expected = {
            status: 404, code: "SecretNotFound",
            message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
        };
        assertWire(await call(`/secrets/${name}/`), expected);
        assertWire(await call(`/secrets/${name}/backup`, "POST"), expected);
        assertWire(await call(`/deletedsecrets/${name}`), { status: 404, code: "SecretNotFound", message: `Deleted Secret not found: ${name}` });
    });

    it("400 BadParameter for an invalid name and for an api-version the service does not know", async () => {
        assertWire(await call("/secrets/bad_name/"), { status: 400, code: "BadParameter", message: "The request URI contains an invalid name: bad_name" });
        const res = await rawRequest(`${base}/secrets?api-version=7.9`, { token: tokens[0] });
        assertWire(res, { status: 400, code: "BadParameter", message: "The specified version (7.9) is not recognized. Consider using the latest supported version (2025-07-01)." });
    });

    it("400 Malformed backup blob: a value that is not base64url is corrupt; a tampered blob has an invalid or corrupt version", async () => {
        assertWire(await call("/secrets/restore", "POST", { value: "not a backup!" }), { status: 400, code: "Malformed backup blob", message: "Backup blob is corrupt." });
        const { name } = await newSecret("wire-tamper");
        const blob = Buffer.from(String((await call(`/secrets/${name}/backup`, "POST")).json.value), "base64url");
        await deleteAndPurge(name);
        blob[blob.length - 30] ^= 0x01; // inside the JWE's ciphertext or tag
        assertWire(await call("/secrets/restore", "POST", { value: blob.toString("base64url") }), {
            status: 400, code: "Malformed backup blob", message: "Backup blob contains invalid or corrupt version.",
        });
    });

    it("409 Conflict restoring over an existing name, and setting a soft-deleted name", async () => {
        const { name, version } = await newSecret("wire-conflict");
        const value = String((await call(`/secrets/${name}/backup`, "POST")).json.value);
        assertWire(await call("/secrets/restore", "POST", { value }), {
            status: 409, code: "Conflict",
            messageStartsWith: `There was a conflict restoring the secret '${base}/secrets/${name}/${version}'. This can happen if either: a second secret with the same name was created after the first secret was deleted; `,
        });
        assert.equal((await call(`/secrets/${name}`, "DELETE")).status, 200);
        assertWire(await call(`/secrets/${name}`, "PUT", { value: "again" }), {
            status: 409, code: "Conflict",
            message: `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        });
    });

    it("429 Throttled over the vault's limit, without Retry-After", async () => {
        emulator.faults.setThrottle({ operations: 1, windowMs: 60_000 });
        try {
            await call("/secrets/any/");
            const res = await call("/secrets/any/");
            assertWire(res, { status: 429, code: "Throttled", message: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached" });
            assert.equal(res.headers["retry-after"], undefined);
        } finally {
            emulator.faults.setThrottle(false);
        }
    });
});
