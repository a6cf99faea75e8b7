import * as assert from "node:assert/strict";
import type { TokenCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import * as jose from "jose";
import sinon from "sinon";
import type { RunningEmulator } from "../../emulator";
import { challengeFor } from "../../emulator/auth";
import * as errors from "../../emulator/errors";
import { assertKeyVaultError, credentialFor, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { rawRequest } from "./raw";
import { generateJwkPair } from "../../emulator/key-crypto";

describe("emulator: authentication", () => {
    let emulator: RunningEmulator;
    let challenge: string;
    before(async () => {
        emulator = await startTestEmulator({ vaults: ["auth-vault"] });
        challenge = challengeFor(emulator.authorityHost, emulator.tenantId);
    });
    after(async () => {
        await emulator?.close();
    });

    /** A client whose credential returns `token` whatever it is asked for. */
    function clientWithToken(token: () => Promise<string>): SecretClient {
        const credential: TokenCredential = {
            getToken: async () => ({ token: await token(), expiresOnTimestamp: Date.now() + 3600_000 }),
        };
        return new SecretClient(emulator.vaults["auth-vault"], credential, {
            disableChallengeResourceVerification: true,
            retryOptions: { maxRetries: 0 },
        });
    }

    it("answers an unauthenticated request with the bearer challenge before looking at anything else", async () => {
        // A bad api-version and an unknown path: the challenge still comes first, as in the service.
        const res = await rawRequest(`${emulator.vaults["auth-vault"]}/nothing-here?api-version=1.0`, { method: "PUT", body: "{" });
        assert.equal(res.status, 401);
        assert.equal(res.headers["www-authenticate"], challenge);
        assert.match(challenge, /^Bearer authorization="https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}", resource="https:\/\/vault\.azure\.net"$/);
        assert.deepEqual(res.json, errors.missingToken(challenge).toBody());
        assert.equal(res.text, '{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}');
    });

    it("lets the real SDK follow the challenge: first request 401, then the request with a token succeeds", async () => {
        const client = secretClientFor(emulator, "auth-vault");
        const name = uniqueName("challenge");
        const before = emulator.requests().length;
        await client.setSecret(name, "v");
        const seen = emulator.requests().slice(before);
        assert.deepEqual(
            seen.map((r) => [r.operation, r.status]),
            [
                ["set", 401],
                ["set", 200],
            ],
        );
    });

    it("issues JWTs with the service's audience, issuer, expiry and app claims, verifiable with the published keys", async () => {
        const token = await credentialFor(emulator).getToken("https://vault.azure.net/.default");
        const discovery = await rawRequest(`${emulator.authorityHost}/${emulator.tenantId}/v2.0/.well-known/openid-configuration`);
        const jwks = await rawRequest(discovery.json.jwks_uri);
        const { payload } = await jose.jwtVerify(token.token, jose.createLocalJWKSet(jwks.json), {
            audience: "https://vault.azure.net",
            issuer: `https://sts.windows.net/${emulator.tenantId}/`,
        });
        assert.equal(payload.appid, emulator.principals[0].clientId);
        assert.equal(payload.oid, emulator.principals[0].objectId);
        assert.ok(payload.exp! > Date.now() / 1000 + 3000);
        const storage = await credentialFor(emulator).getToken("https://storage.azure.com/.default");
        assert.equal(jose.decodeJwt(storage.token).aud, "https://storage.azure.com");
    });

    it("refuses a token for another audience with 401 AKV10022 and the challenge", async () => {
        const cred = credentialFor(emulator);
        const client = clientWithToken(async () => (await cred.getToken("https://storage.azure.com/.default")).token);
        await assertKeyVaultError(client.getSecret("anything"), errors.invalidAudience(challenge, "https://storage.azure.com"));
    });

    it("refuses a token from another issuer with 401 AKV10032", async () => {
        const other = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/";
        const client = clientWithToken(() => emulator.mintToken(0, { issuer: other }));
        await assertKeyVaultError(
            client.getSecret("anything"),
            errors.invalidIssuer(challenge, `https://sts.windows.net/${emulator.tenantId}/`, other),
        );
    });

    it("refuses an expired token with 401 and the challenge", async () => {
        const token = await emulator.mintToken(0, { expiresInSeconds: -120 });
        const res = await rawRequest(`${emulator.vaults["auth-vault"]}/secrets?api-version=7.4`, { token });
        assert.equal(res.status, 401);
        assert.equal(res.headers["www-authenticate"], challenge);
        assert.deepEqual(res.json, errors.tokenExpired(challenge).toBody());
        const client = clientWithToken(() => emulator.mintToken(0, { expiresInSeconds: -120 }));
        await assertKeyVaultError(client.getSecret("anything"), errors.tokenExpired(challenge));
    });

    it("a token accepted earlier is refused once it expires (verified tokens are remembered only until their expiry)", async () => {
        const token = await emulator.mintToken(0, { expiresInSeconds: 90 });
        const url = `${emulator.vaults["auth-vault"]}/secrets?api-version=7.4`;
        assert.equal((await rawRequest(url, { token })).status, 200);
        assert.equal((await rawRequest(url, { token })).status, 200, "accepted again while valid");
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
        try {
            clock.tick(120_000);
            const res = await rawRequest(url, { token });
            assert.equal(res.status, 401);
            assert.equal(res.headers["www-authenticate"], challenge);
            assert.deepEqual(res.json, { error: { code: "Unauthorized", message: "[TokenExpired] Error validating token: 'S2S12086'." } });
        } finally {
            clock.restore();
        }
    });

    it("refuses a token signed with another key", async () => {
        // Not jose.generateKeyPair: using a just-generated KeyObject can deadlock Node 20 (see generateJwkPair).
        const privateKey = await jose.importJWK(generateJwkPair("rsa", { modulusLength: 2048, publicExponent: 65537 }) as jose.JWK, "RS256");
        const forged = await new jose.SignJWT({ appid: emulator.principals[0].clientId, oid: emulator.principals[0].objectId })
            .setProtectedHeader({ alg: "RS256" })
            .setAudience("https://vault.azure.net")
            .setIssuer(`https://sts.windows.net/${emulator.tenantId}/`)
            .setExpirationTime("1h")
            .sign(privateKey);
        const res = await rawRequest(`${emulator.vaults["auth-vault"]}/secrets?api-version=7.4`, { token: forged });
        assert.equal(res.status, 401);
        assert.deepEqual(res.json, errors.unknownSigningKey(challenge).toBody());
    });

    it("gives no token for a wrong client secret (AADSTS7000215), so no request reaches the vault", async () => {
        const p = emulator.principals[0];
        const { ClientSecretCredential } = await import("@azure/identity");
        const cred = new ClientSecretCredential(emulator.tenantId, p.clientId, "not-the-secret", {
            authorityHost: emulator.authorityHost,
            disableInstanceDiscovery: true,
        });
        const client = new SecretClient(emulator.vaults["auth-vault"], cred, { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
        const before = emulator.requests().length;
        await assert.rejects(client.getSecret("anything"), /AADSTS7000215/);
        assert.deepEqual(emulator.requests().slice(before).map((r) => r.status), [401]);
    });

    it("knows only its own tenant: a credential for another tenant gets no token", async () => {
        const p = emulator.principals[0];
        const { ClientSecretCredential } = await import("@azure/identity");
        const other = new ClientSecretCredential("00000000-0000-0000-0000-000000000002", p.clientId, p.clientSecret, {
            authorityHost: emulator.authorityHost,
            disableInstanceDiscovery: true,
        });
        await assert.rejects(other.getToken("https://vault.azure.net/.default"));
        const discovery = await rawRequest(`${emulator.authorityHost}/00000000-0000-0000-0000-000000000002/v2.0/.well-known/openid-configuration`);
        assert.equal(discovery.status, 400);
        assert.match(discovery.json.error_description, /AADSTS90002: Tenant '00000000-0000-0000-0000-000000000002' not found/);
    });
});
