/**
 * Reading keys and certificates as a user compares them after a restore, shared by the demo's
 * restore check and the tests: every version's public facts (never a private part), and proof that
 * a key still signs (verified outside the vault with a public part alone).
 */
import { constants, createPublicKey, verify as nodeVerify, type JsonWebKey } from "node:crypto";
import type { TokenCredential } from "@azure/identity";
import { CryptographyClient, type KeyClient } from "@azure/keyvault-keys";
import type { CertificateClient } from "@azure/keyvault-certificates";
import { sha256Hex } from "../provider/destinations/destination";

/** Every version of certificate `name`: id, x5t thumbprint (hex), sha256 of its DER (`cer`) and attributes; sorted by version. */
export async function snapshotCertificate(client: CertificateClient, name: string): Promise<unknown[]> {
    const out = [];
    for await (const p of client.listPropertiesOfCertificateVersions(name)) {
        const c = await client.getCertificateVersion(name, p.version!);
        out.push({ version: p.version, x5t: c.properties.x509Thumbprint && Buffer.from(c.properties.x509Thumbprint).toString("hex"), cer: c.cer && sha256Hex(c.cer), enabled: p.enabled, tags: p.tags, createdOn: p.createdOn?.getTime() });
    }
    return out.sort((a, b) => String(a.version).localeCompare(String(b.version)));
}

/** Every version of key `name`: id, public key and attributes (the private half never leaves a vault); sorted by version. */
export async function snapshotKey(client: KeyClient, name: string): Promise<unknown[]> {
    const out = [];
    for await (const p of client.listPropertiesOfKeyVersions(name)) {
        const k = await client.getKey(name, { version: p.version });
        const jwk = k.key!;
        out.push({ version: p.version, kty: jwk.kty, n: jwk.n && Buffer.from(jwk.n).toString("base64url"), x: jwk.x && Buffer.from(jwk.x).toString("base64url"), enabled: p.enabled, tags: p.tags, createdOn: p.createdOn?.getTime() });
    }
    return out.sort((a, b) => String(a.version).localeCompare(String(b.version)));
}

/** The public part of a key as the SDK returns it (`KeyVaultKey`), as a Node JWK; "-HSM" key types map to their software kind. */
export function publicJwkOf(k: { key?: { kty?: string; n?: Uint8Array; e?: Uint8Array; crv?: string; x?: Uint8Array; y?: Uint8Array } }): JsonWebKey {
    const b = (u?: Uint8Array) => Buffer.from(u!).toString("base64url");
    const kty = k.key!.kty!.replace(/-HSM$/, "");
    return kty === "RSA" ? { kty, n: b(k.key!.n), e: b(k.key!.e) } : { kty, crv: k.key!.crv, x: b(k.key!.x), y: b(k.key!.y) };
}

/** Verifies a JWS signature (`RS*`, `PS*`, `ES*`) over `data` with the PUBLIC JWK only, in Node (not in a vault). */
export function verifiesLocally(publicJwk: JsonWebKey, alg: string, data: Buffer, signature: Uint8Array): boolean {
    const hash = `sha${alg.slice(2)}`;
    const key = createPublicKey({ key: publicJwk, format: "jwk" });
    const sig = Buffer.from(signature);
    if (alg.startsWith("ES")) return nodeVerify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sig);
    if (alg.startsWith("PS")) return nodeVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }, sig);
    return nodeVerify(hash, data, key, sig);
}

/** The signing algorithm for a public JWK: RS256 for RSA, ES256/ES384/ES512 for EC P-256/P-384/P-521. */
export function signingAlgorithm(publicJwk: JsonWebKey): string {
    if (publicJwk.kty === "RSA") return "RS256";
    const alg = ({ "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" } as Record<string, string>)[String(publicJwk.crv)];
    if (!alg) throw new Error(`no signing algorithm for a ${publicJwk.kty} key on curve ${publicJwk.crv}`);
    return alg;
}

/**
 * Has the vault key `keyId` sign `data` (Sign, through the real `CryptographyClient`) and checks
 * the signature in Node with `originalPublicJwk` alone; returns whether it verified.
 * `disableChallengeResourceVerification` is for loopback emulator vaults only.
 */
export async function signsAndVerifies(
    keyId: string, credential: TokenCredential, originalPublicJwk: JsonWebKey, data: Buffer, options: { disableChallengeResourceVerification?: boolean } = {},
): Promise<boolean> {
    const alg = signingAlgorithm(originalPublicJwk);
    const signed = await new CryptographyClient(keyId, credential, options).signData(alg, data);
    return verifiesLocally(originalPublicJwk, alg, data, signed.result);
}
