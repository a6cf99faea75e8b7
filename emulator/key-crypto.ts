/**
 * Key material for the emulator's keys: generating RSA and EC keys, reading imported JWKs, the
 * public part that leaves the vault, and signing or verifying a DIGEST (as Key Vault's sign/verify
 * take one) with RS/PS/ES 256/384/512. Node's crypto hashes before it signs, so the digest-level
 * steps are done here: PKCS#1 v1.5 and PSS padding over Node's raw RSA, and ECDSA's formulas over
 * Node's EC point multiplication (ECDH; verification uses the private scalar the vault holds).
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, privateEncrypt, publicDecrypt, randomBytes, constants, type JsonWebKey } from "node:crypto";

/** RSA sizes and EC curves the emulator creates. */
const RSA_SIZES = [2048, 3072, 4096] as const;
/** EC curves (JWK names) the emulator creates and signs with. */
const EC_CURVES = ["P-256", "P-384", "P-521"] as const;

const HASHES: Record<string, { hash: string; bytes: number; digestInfo: string }> = {
    "256": { hash: "sha256", bytes: 32, digestInfo: "3031300d060960864801650304020105000420" },
    "384": { hash: "sha384", bytes: 48, digestInfo: "3041300d060960864801650304020205000430" },
    "512": { hash: "sha512", bytes: 64, digestInfo: "3051300d060960864801650304020305000440" },
};

/** Curve facts for ECDSA: OpenSSL name, field prime, order, coordinate size, the algorithm that goes with it. */
const CURVES: Record<string, { openssl: string; p: bigint; n: bigint; size: number; alg: string }> = {
    "P-256": {
        openssl: "prime256v1",
        p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
        n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
        size: 32,
        alg: "ES256",
    },
    "P-384": {
        openssl: "secp384r1",
        p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
        n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
        size: 48,
        alg: "ES384",
    },
    "P-521": {
        openssl: "secp521r1",
        p: 2n ** 521n - 1n,
        n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
        size: 66,
        alg: "ES512",
    },
};

/** Whether `kty` names an RSA or an EC key (the "-HSM" kinds are kept as software keys). */
export function family(kty: string): "RSA" | "EC" | undefined {
    const base = kty.replace(/-HSM$/, "");
    return base === "RSA" || base === "EC" ? base : undefined;
}

/**
 * A new key pair's private JWK, encoded by Node inside the key generation job. Never
 * `generateKeyPairSync(...).privateKey.export({ format: "jwk" })`: on Node 20 that can deadlock
 * the process for good (seen in a test run here). The export holds the new key's mutex while it
 * allocates; a garbage collection then may finalize the finished generation job, whose destructor
 * takes the same mutex (gdb: `KeyGenJob<RsaKeyGenTraits>::~KeyGenJob` under `ExportJWKRsaKey`).
 * Encoded inside the job, the job is still referenced while the mutex is held.
 */
export function generateJwkPair(type: "rsa" | "ec", options: { modulusLength: number; publicExponent: number } | { namedCurve: string }): JsonWebKey {
    // @types/node has no overload for the "jwk" encoding, which Node has had since 15.9.
    const generate = generateKeyPairSync as unknown as (type: string, options: object) => { privateKey: JsonWebKey };
    return generate(type, { ...options, privateKeyEncoding: { format: "jwk" }, publicKeyEncoding: { format: "jwk" } }).privateKey;
}

/** A new private JWK: RSA of `size` bits (default 2048) or EC on `crv` (default P-256). Throws an Error naming what is unsupported. */
export function generateJwk(kty: string, size?: number, crv?: string): JsonWebKey {
    const f = family(kty);
    if (f === "RSA") {
        const bits = size ?? 2048;
        if (!(RSA_SIZES as readonly number[]).includes(bits)) throw new Error(`key_size ${bits} is not supported for RSA keys (use ${RSA_SIZES.join(", ")})`);
        return generateJwkPair("rsa", { modulusLength: bits, publicExponent: 65537 });
    }
    if (f === "EC") {
        const curve = crv ?? "P-256";
        if (!CURVES[curve]) throw new Error(`crv ${curve} is not supported (use ${EC_CURVES.join(", ")})`);
        return generateJwkPair("ec", { namedCurve: CURVES[curve].openssl });
    }
    throw new Error(`kty ${kty} is not supported (use RSA, RSA-HSM, EC or EC-HSM)`);
}

/** Checks an imported JWK holds a usable private key of a supported kind; returns the private JWK as Node writes it. */
export function readPrivateJwk(jwk: unknown): JsonWebKey {
    if (!jwk || typeof jwk !== "object") throw new Error("key must be a JSON Web Key object");
    const j = { ...(jwk as Record<string, unknown>) };
    const f = family(String(j.kty));
    if (!f) throw new Error(`kty ${String(j.kty)} is not supported (use RSA, RSA-HSM, EC or EC-HSM)`);
    j.kty = f;
    if (f === "EC" && !CURVES[String(j.crv)]) throw new Error(`crv ${String(j.crv)} is not supported (use ${EC_CURVES.join(", ")})`);
    if (typeof j.d !== "string") throw new Error("key has no private part (d): only private keys can be imported");
    delete j.kid;
    delete j.key_ops;
    try {
        return createPrivateKey({ key: j as JsonWebKey, format: "jwk" }).export({ format: "jwk" });
    } catch (e) {
        throw new Error(`key is not a valid ${f} key: ${(e as Error).message}`);
    }
}

/** The public members of a JWK (what a KeyBundle shows): RSA n, e; EC crv, x, y. */
export function publicPart(jwk: JsonWebKey): Record<string, string> {
    return jwk.kty === "RSA" ? { n: jwk.n!, e: jwk.e! } : { crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
}

/** The RSA modulus size or EC curve of a key, for attributes and policy. */
export function keySize(jwk: JsonWebKey): number | undefined {
    return jwk.kty === "RSA" ? Buffer.from(jwk.n!, "base64url").length * 8 : undefined;
}

/** Throws an Error unless `alg` fits the key and the digest has the hash's length. */
function checkAlgorithm(jwk: JsonWebKey, alg: string, digest: Buffer): { kind: "RS" | "PS" | "ES"; hash: (typeof HASHES)[string] } {
    const m = /^(RS|PS|ES)(256|384|512)$/.exec(alg);
    if (!m) throw new Error(`algorithm ${alg} is not supported (use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512)`);
    const kind = m[1] as "RS" | "PS" | "ES";
    if ((kind === "ES") !== (jwk.kty === "EC")) throw new Error(`algorithm ${alg} does not fit a key of type ${jwk.kty}`);
    if (kind === "ES" && CURVES[jwk.crv!].alg !== alg) throw new Error(`algorithm ${alg} does not fit curve ${jwk.crv} (use ${CURVES[jwk.crv!].alg})`);
    const hash = HASHES[m[2]];
    if (digest.length !== hash.bytes) throw new Error(`the digest for ${alg} must be ${hash.bytes} bytes, got ${digest.length}`);
    return { kind, hash };
}

/** Signs `digest` (already hashed) with the private JWK; the signature as JWS bytes (ECDSA: r || s). */
export function signDigest(jwk: JsonWebKey, alg: string, digest: Buffer): Buffer {
    const { kind, hash } = checkAlgorithm(jwk, alg, digest);
    if (kind === "ES") return ecdsaSign(jwk, digest);
    const key = createPrivateKey({ key: jwk, format: "jwk" });
    if (kind === "RS") return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([Buffer.from(hash.digestInfo, "hex"), digest]));
    const modBits = keySize(jwk)!;
    const em = pssEncode(digest, modBits - 1, hash.hash, hash.bytes);
    const k = modBits / 8;
    return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.alloc(k - em.length), em]));
}

/** Whether `signature` over `digest` verifies with the key's public part. */
export function verifyDigest(jwk: JsonWebKey, alg: string, digest: Buffer, signature: Buffer): boolean {
    const { kind, hash } = checkAlgorithm(jwk, alg, digest);
    if (kind === "ES") return ecdsaVerify(jwk, digest, signature);
    const key = createPublicKey({ key: { kty: "RSA", ...publicPart(jwk) } as JsonWebKey, format: "jwk" });
    const modBits = keySize(jwk)!;
    if (signature.length !== modBits / 8) return false;
    try {
        if (kind === "RS") {
            const info = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
            return info.equals(Buffer.concat([Buffer.from(hash.digestInfo, "hex"), digest]));
        }
        const raw = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
        const emLen = Math.ceil((modBits - 1) / 8);
        if (raw.subarray(0, raw.length - emLen).some((b) => b !== 0)) return false;
        return pssVerify(digest, raw.subarray(raw.length - emLen), modBits - 1, hash.hash, hash.bytes);
    } catch {
        return false;
    }
}

function mgf1(seed: Buffer, length: number, hash: string): Buffer {
    const out: Buffer[] = [];
    for (let i = 0, got = 0; got < length; i++) {
        const c = Buffer.alloc(4);
        c.writeUInt32BE(i);
        const h = createHash(hash).update(seed).update(c).digest();
        out.push(h);
        got += h.length;
    }
    return Buffer.concat(out).subarray(0, length);
}

/** EMSA-PSS-ENCODE (RFC 8017 9.1.1) with MGF1 of the same hash and a salt as long as the hash. */
function pssEncode(mHash: Buffer, emBits: number, hash: string, hLen: number): Buffer {
    const emLen = Math.ceil(emBits / 8);
    const salt = randomBytes(hLen);
    const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
    const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([1]), salt]);
    const mask = mgf1(h, emLen - hLen - 1, hash);
    for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
    db[0] &= 0xff >> (8 * emLen - emBits);
    return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2), salt length = hash length. */
function pssVerify(mHash: Buffer, em: Buffer, emBits: number, hash: string, hLen: number): boolean {
    const emLen = em.length;
    if (em[emLen - 1] !== 0xbc || emLen < 2 * hLen + 2) return false;
    const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
    const h = em.subarray(emLen - hLen - 1, emLen - 1);
    if ((db[0] & ~(0xff >> (8 * emLen - emBits)) & 0xff) !== 0) return false;
    const mask = mgf1(h, db.length, hash);
    for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
    db[0] &= 0xff >> (8 * emLen - emBits);
    const psLen = emLen - 2 * hLen - 2;
    if (db.subarray(0, psLen).some((b) => b !== 0) || db[psLen] !== 1) return false;
    const salt = db.subarray(psLen + 1);
    return createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest().equals(h);
}

const toInt = (b: Buffer): bigint => (b.length ? BigInt(`0x${b.toString("hex")}`) : 0n);
const toBytes = (x: bigint, size: number): Buffer => Buffer.from(x.toString(16).padStart(size * 2, "0"), "hex");
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
    let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
    while (r1 !== 0n) {
        const q = r0 / r1;
        [r0, r1] = [r1, r0 - q * r1];
        [s0, s1] = [s1, s0 - q * s1];
    }
    return mod(s0, m);
}

/** k * G through Node's ECDH (the public key of private key k); null for k = 0. */
function multiplyBase(curve: string, k: bigint): { x: bigint; y: bigint } | null {
    const c = CURVES[curve];
    if (mod(k, c.n) === 0n) return null;
    const ecdh = createECDH(c.openssl);
    ecdh.setPrivateKey(toBytes(mod(k, c.n), c.size));
    const pub = ecdh.getPublicKey();
    return { x: toInt(pub.subarray(1, 1 + c.size)), y: toInt(pub.subarray(1 + c.size)) };
}

function ecdsaSign(jwk: JsonWebKey, digest: Buffer): Buffer {
    const c = CURVES[jwk.crv!];
    const d = toInt(Buffer.from(jwk.d!, "base64url"));
    const z = toInt(digest);
    for (;;) {
        const k = mod(toInt(randomBytes(c.size + 8)), c.n - 1n) + 1n;
        const r = mod(multiplyBase(jwk.crv!, k)!.x, c.n);
        if (r === 0n) continue;
        const s = mod(inverse(k, c.n) * (z + r * d), c.n);
        if (s === 0n) continue;
        return Buffer.concat([toBytes(r, c.size), toBytes(s, c.size)]);
    }
}

function ecdsaVerify(jwk: JsonWebKey, digest: Buffer, signature: Buffer): boolean {
    const c = CURVES[jwk.crv!];
    if (signature.length !== 2 * c.size) return false;
    const r = toInt(signature.subarray(0, c.size));
    const s = toInt(signature.subarray(c.size));
    if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
    const w = inverse(s, c.n);
    const u1 = mod(toInt(digest) * w, c.n);
    const u2 = mod(r * w, c.n);
    // u1·G + u2·Q = (u1 + u2·d)·G: the vault holds d (every key here is private), so one multiplication does.
    const d = toInt(Buffer.from(jwk.d!, "base64url"));
    const R = multiplyBase(jwk.crv!, u1 + u2 * d);
    return R !== null && mod(R.x, c.n) === r;
}
