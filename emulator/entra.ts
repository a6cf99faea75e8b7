/**
 * The Entra ID stand-in: OpenID discovery, JWKS and the client-credentials token endpoint that
 * `@azure/identity` (MSAL) talks to when given `authorityHost` and `disableInstanceDiscovery`.
 * Tokens are RS256 JWTs signed with a key made at start; the vault verifies them with `verify`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import * as jose from "jose";
import { generateJwkPair } from "./key-crypto";
import type { Principal } from "./principals";
import { pathOf, sendJson } from "./http";

/** Resources the token endpoint issues tokens for (scope `<resource>/.default`). */
const KNOWN_AUDIENCES = ["https://vault.azure.net", "https://storage.azure.com"] as const;

const TOKEN_LIFETIME_S = 3600;

/** Claims the vault reads from a verified token. */
export interface TokenClaims {
    aud: string;
    iss: string;
    appid: string;
    oid: string;
    tid: string;
    exp: number;
}

/** What `verify` concludes about a bearer token. */
export type TokenCheck =
    | { ok: true; claims: TokenClaims }
    | { ok: false; problem: "audience" | "issuer"; found: string }
    | { ok: false; problem: "expired" | "signature" | "claims"; reason: string };

/** Options for minting a token directly (tests and the admin endpoint). */
export interface MintOptions {
    audience?: string;
    issuer?: string;
    /** Seconds from now; negative gives an already expired token. */
    expiresInSeconds?: number;
}

/** The Entra ID stand-in for one tenant. */
export class Entra {
    private constructor(
        readonly tenantId: string,
        private readonly keyId: string,
        private readonly privateKey: jose.KeyLike,
        private readonly publicJwk: jose.JWK,
        private readonly publicKey: jose.KeyLike,
        private readonly principals: () => Principal[],
    ) {}

    /** Makes a signing key for `tenantId`; `principals` is read on every token request. */
    static async create(tenantId: string, principals: () => Principal[]): Promise<Entra> {
        // Encoded inside the generation job (see generateJwkPair: exporting a just-generated key can deadlock Node 20).
        const { n, e, ...privateRest } = generateJwkPair("rsa", { modulusLength: 2048, publicExponent: 65537 });
        const privateKey = await jose.importJWK({ n, e, ...privateRest } as jose.JWK, "RS256") as jose.KeyLike;
        const publicKey = await jose.importJWK({ kty: "RSA", n, e }, "RS256") as jose.KeyLike;
        const kid = randomUUID();
        const jwk = { kty: "RSA", n, e, kid, use: "sig", alg: "RS256" };
        return new Entra(tenantId, kid, privateKey, jwk, publicKey, principals);
    }

    /** The issuer the vault accepts: `https://sts.windows.net/{tenant}/`. */
    get issuer(): string {
        return `https://sts.windows.net/${this.tenantId}/`;
    }

    /** Signs an access token for `principal`. */
    async mint(principal: Principal, options: MintOptions = {}): Promise<string> {
        const now = Math.floor(Date.now() / 1000);
        const exp = now + (options.expiresInSeconds ?? TOKEN_LIFETIME_S);
        return new jose.SignJWT({
            appid: principal.clientId,
            oid: principal.objectId,
            tid: this.tenantId,
            sub: principal.objectId,
            idtyp: "app",
            ver: "1.0",
        })
            .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.keyId })
            .setAudience(options.audience ?? KNOWN_AUDIENCES[0])
            .setIssuer(options.issuer ?? this.issuer)
            .setIssuedAt(Math.min(now, exp - 60))
            .setNotBefore(Math.min(now, exp - 60))
            .setExpirationTime(exp)
            .setJti(randomUUID())
            .sign(this.privateKey);
    }

    /** Verifies signature and expiry, then audience and issuer, as the vault does. */
    async verify(token: string, audience: string): Promise<TokenCheck> {
        let payload: jose.JWTPayload;
        try {
            ({ payload } = await jose.jwtVerify(token, this.publicKey, { algorithms: ["RS256"] }));
        } catch (e) {
            if (e instanceof jose.errors.JWTExpired) return { ok: false, problem: "expired", reason: "the token is expired" };
            return { ok: false, problem: "signature", reason: "the token's signature or format is invalid" };
        }
        const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
        if (aud !== audience) return { ok: false, problem: "audience", found: String(aud) };
        if (payload.iss !== this.issuer) return { ok: false, problem: "issuer", found: String(payload.iss) };
        const { appid, oid, tid } = payload as Record<string, unknown>;
        if (typeof appid !== "string" || typeof oid !== "string") {
            return { ok: false, problem: "claims", reason: "the token has no appid/oid" };
        }
        return { ok: true, claims: { aud, iss: payload.iss, appid, oid, tid: String(tid), exp: payload.exp ?? 0 } };
    }

    /** Serves discovery, keys and tokens; returns false when the path is not Entra's. */
    async handle(req: IncomingMessage, res: ServerResponse, body: Buffer, authorityHost: string): Promise<boolean> {
        const path = pathOf(req);
        const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token)$/.exec(path);
        if (!m) return false;
        const [, tenant, what] = m;
        if (tenant !== this.tenantId) {
            sendJson(res, 400, aadError("invalid_tenant", `AADSTS90002: Tenant '${tenant}' not found. This emulator's tenant is ${this.tenantId}.`));
            return true;
        }
        if (what.startsWith("v2.0")) sendJson(res, 200, this.discovery(authorityHost));
        else if (what.startsWith("discovery")) sendJson(res, 200, { keys: [this.publicJwk] });
        else await this.token(req, res, body);
        return true;
    }

    private discovery(authorityHost: string): Record<string, unknown> {
        const base = `${authorityHost}/${this.tenantId}`;
        return {
            issuer: `${authorityHost}/${this.tenantId}/v2.0`,
            authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
            token_endpoint: `${base}/oauth2/v2.0/token`,
            device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
            end_session_endpoint: `${base}/oauth2/v2.0/logout`,
            jwks_uri: `${base}/discovery/v2.0/keys`,
            response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            scopes_supported: ["openid", "profile", "email", "offline_access"],
            tenant_region_scope: "EU",
            cloud_instance_name: "microsoftonline.com",
        };
    }

    private async token(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
        if (req.method !== "POST") return sendJson(res, 405, aadError("invalid_request", "AADSTS900561: The endpoint only accepts POST requests."));
        const form = new URLSearchParams(body.toString("utf8"));
        if (form.get("grant_type") !== "client_credentials") {
            return sendJson(res, 400, aadError("unsupported_grant_type", "AADSTS70003: The emulator supports only the client_credentials grant."));
        }
        const clientId = form.get("client_id") ?? "";
        const principal = this.principals().find((p) => p.clientId === clientId);
        if (!principal) {
            return sendJson(res, 400, aadError("unauthorized_client", `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'.`));
        }
        if (form.get("client_secret") !== principal.clientSecret) {
            return sendJson(res, 401, aadError("invalid_client", `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`));
        }
        const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        const resource = scopes.map((s) => s.replace(/\/\.default$/, "").replace(/\/$/, "")).find((s) => (KNOWN_AUDIENCES as readonly string[]).includes(s));
        if (!resource) {
            return sendJson(res, 400, aadError("invalid_scope", `AADSTS70011: The provided request must include a 'scope' input parameter of ${KNOWN_AUDIENCES.map((a) => a + "/.default").join(" or ")}; got '${scopes.join(" ")}'.`));
        }
        const accessToken = await this.mint(principal, { audience: resource });
        sendJson(res, 200, { token_type: "Bearer", expires_in: TOKEN_LIFETIME_S - 1, ext_expires_in: TOKEN_LIFETIME_S - 1, access_token: accessToken });
    }
}

function aadError(error: string, description: string): Record<string, unknown> {
    return {
        error,
        error_description: description,
        error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
        timestamp: new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
    };
}
