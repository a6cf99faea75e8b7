/**
 * What the emulator's certificate authority "Self" does: makes a key pair and a self-signed X.509
 * certificate (and its CSR) from a policy, writes the certificate's secret value (PKCS#12 or PEM,
 * per the policy's content type), and reads certificates to import (PFX with or without password,
 * or PEM). X.509 with @peculiar/x509 on WebCrypto; PKCS#12 with node-forge.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, type JsonWebKey, type KeyObject } from "node:crypto";
import * as x509 from "@peculiar/x509";
import * as forge from "node-forge";
import { generateJwk } from "./key-crypto";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The secret content types a certificate's secret can have. */
export const PKCS12 = "application/x-pkcs12";
/** PEM: the PKCS#8 private key, then the certificate. */
export const PEM = "application/x-pem-file";

/** What issuing makes: the private key (JWK), the certificate and its CSR (DER). */
export interface Issued {
    jwk: JsonWebKey;
    certDer: Buffer;
    csrDer: Buffer;
}

/** The X.509 facts of a policy that issuing reads. */
export interface IssueRequest {
    kty: string;
    keySize?: number;
    crv?: string;
    subject: string;
    dnsNames: string[];
    emails: string[];
    upns: string[];
    ekus: string[];
    keyUsage: string[];
    notBefore: Date;
    notAfter: Date;
}

function algorithms(jwk: JsonWebKey): { importAlg: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams; sign: webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams } {
    if (jwk.kty === "RSA") return { importAlg: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } };
    const hash = jwk.crv === "P-256" ? "SHA-256" : jwk.crv === "P-384" ? "SHA-384" : "SHA-512";
    return { importAlg: { name: "ECDSA", namedCurve: jwk.crv! }, sign: { name: "ECDSA", hash } };
}

/** Distinguished names as the caller spells them ("cn=MyCert") with upper-case attribute types, which the X.509 library needs. */
function normaliseSubject(subject: string): string {
    return subject.replace(/(^|,)\s*([A-Za-z][A-Za-z0-9]*)\s*=/g, (_m, sep: string, t: string) => `${sep}${sep ? " " : ""}${t.toUpperCase()}=`);
}

const KEY_USAGES: Record<string, number> = {
    digitalSignature: x509.KeyUsageFlags.digitalSignature,
    nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
    keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
    dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
    keyAgreement: x509.KeyUsageFlags.keyAgreement,
    keyCertSign: x509.KeyUsageFlags.keyCertSign,
    cRLSign: x509.KeyUsageFlags.cRLSign,
    encipherOnly: x509.KeyUsageFlags.encipherOnly,
    decipherOnly: x509.KeyUsageFlags.decipherOnly,
};

/** Makes the key and a self-signed certificate (and a CSR for the pending operation) for a policy. */
export async function issueSelfSigned(req: IssueRequest): Promise<Issued> {
    const jwk = generateJwk(req.kty, req.keySize, req.crv);
    const { importAlg, sign } = algorithms(jwk);
    const privateKey = await webcrypto.subtle.importKey("jwk", jwk as webcrypto.JsonWebKey, importAlg, true, ["sign"]);
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
    const publicKey = await webcrypto.subtle.importKey("jwk", pub as webcrypto.JsonWebKey, importAlg, true, ["verify"]);
    const keys = { privateKey, publicKey };
    const usage = req.keyUsage.reduce((acc, u) => acc | (KEY_USAGES[u] ?? 0), 0);
    const names = [
        ...req.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...req.emails.map((value) => ({ type: "email" as const, value })),
        ...req.upns.map((value) => ({ type: "upn" as const, value })),
    ];
    const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, false),
        ...(usage ? [new x509.KeyUsagesExtension(usage, true)] : []),
        ...(req.ekus.length ? [new x509.ExtendedKeyUsageExtension(req.ekus)] : []),
        ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ];
    const name = normaliseSubject(req.subject);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
        name,
        notBefore: req.notBefore,
        notAfter: req.notAfter,
        signingAlgorithm: sign,
        keys,
        extensions,
    });
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: sign, extensions });
    return { jwk, certDer: Buffer.from(cert.rawData), csrDer: Buffer.from(csr.rawData) };
}

/** The certificate's SHA-1 thumbprint, base64url (the bundle's `x5t`). */
export function thumbprint(certDer: Buffer): string {
    return createHash("sha1").update(certDer).digest("base64url");
}

function pem(label: string, der: Buffer): string {
    return `-----BEGIN ${label}-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

/**
 * The managed secret's value: with PEM, the PKCS#8 private key PEM then the certificate PEM; with
 * PKCS#12, a base64 PFX with an empty password holding the key and the certificate.
 */
export function secretValue(contentType: string, jwk: JsonWebKey, certDer: Buffer): string {
    const pkcs8 = createPrivateKey({ key: jwk, format: "jwk" }).export({ format: "der", type: "pkcs8" });
    if (contentType === PEM) return pem("PRIVATE KEY", pkcs8) + pem("CERTIFICATE", certDer);
    return buildPfx(pkcs8, certDer).toString("base64");
}

/**
 * A PFX (empty password) of one key and certificate. node-forge writes PKCS#12 for RSA keys only, so
 * for the duration of the call its RSA-specific steps are pointed at the PKCS#8 DER we already have
 * (and its certificate parsing at the DER), which works for EC keys too.
 */
function buildPfx(pkcs8Der: Buffer, certDer: Buffer): Buffer {
    const pki = forge.pki as unknown as Record<string, unknown>;
    const saved = { privateKeyToAsn1: pki.privateKeyToAsn1, wrapRsaPrivateKey: pki.wrapRsaPrivateKey, certificateToAsn1: pki.certificateToAsn1 };
    const keyAsn1 = forge.asn1.fromDer(forge.util.createBuffer(pkcs8Der.toString("binary")));
    const certAsn1 = forge.asn1.fromDer(forge.util.createBuffer(certDer.toString("binary")));
    const marker = { emulatorCertificate: true };
    try {
        pki.privateKeyToAsn1 = () => keyAsn1;
        pki.wrapRsaPrivateKey = (a: unknown) => a;
        pki.certificateToAsn1 = (c: unknown) => (c === marker ? certAsn1 : (saved.certificateToAsn1 as (c: unknown) => unknown)(c));
        // The empty password (not none): what Windows, OpenSSL and .NET open as "no password".
        const p12 = forge.pkcs12.toPkcs12Asn1({} as forge.pki.rsa.PrivateKey, [marker as unknown as forge.pki.Certificate], "", {
            algorithm: "aes256",
            generateLocalKeyId: true,
            friendlyName: "",
        });
        return Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary");
    } finally {
        Object.assign(pki, saved);
    }
}

/** A certificate and key read from an import request. */
export interface Imported {
    jwk: JsonWebKey;
    certDer: Buffer;
    contentType: string;
}

/** Reads a PEM (key and certificate) or base64 PFX (with `password`, or none); throws an Error saying what is wrong. */
export function readImport(value: string, password: string | undefined): Imported {
    if (value.includes("-----BEGIN")) {
        const certMatch = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(value);
        if (!certMatch) throw new Error("the PEM holds no certificate");
        const keyMatch = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(value);
        if (!keyMatch) throw new Error("the PEM holds no private key");
        const key = createPrivateKey({ key: keyMatch[0], ...(password ? { passphrase: password } : {}) });
        return checkPair(key, Buffer.from(certMatch[1].replace(/\s+/g, ""), "base64"), PEM);
    }
    let p12: forge.pkcs12.Pkcs12Pfx | undefined;
    let failure = "";
    const pfxBytes = forge.util.decode64(value.replace(/\s+/g, ""));
    // Without a password: the empty one (what most tools write), then none at all (what node-forge writes for null).
    for (const candidate of password !== undefined ? [password] : ["", null]) {
        try {
            p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfxBytes), true, candidate as string);
            break;
        } catch (e) {
            failure ||= (e as Error).message;
        }
    }
    if (!p12) throw new Error(`the value is neither PEM nor a PKCS#12 (PFX) that opens with the password given: ${failure}`);
    const bags = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
    const keyBag = [...bags(forge.pki.oids.pkcs8ShroudedKeyBag), ...bags(forge.pki.oids.keyBag)][0];
    const certBag = bags(forge.pki.oids.certBag)[0];
    if (!keyBag || !certBag) throw new Error("the PFX must hold a private key and its certificate");
    const keyAsn1 = keyBag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key)) : keyBag.asn1;
    const certAsn1 = certBag.cert ? forge.pki.certificateToAsn1(certBag.cert) : certBag.asn1;
    const der = (a: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(a).getBytes(), "binary");
    return checkPair(createPrivateKey({ key: der(keyAsn1 as forge.asn1.Asn1), format: "der", type: "pkcs8" }), der(certAsn1 as forge.asn1.Asn1), PKCS12);
}

function checkPair(key: KeyObject, certDer: Buffer, contentType: string): Imported {
    const cert = new x509.X509Certificate(certDer);
    const jwk = key.export({ format: "jwk" });
    const certJwk = createPublicKeyJwk(cert);
    const same = jwk.kty === "RSA" ? certJwk.n === jwk.n : certJwk.x === jwk.x && certJwk.y === jwk.y;
    if (!same) throw new Error("the private key does not belong to the certificate");
    return { jwk, certDer, contentType };
}

function createPublicKeyJwk(cert: x509.X509Certificate): JsonWebKey {
    return createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: "der", type: "spki" }).export({ format: "jwk" });
}

/** The X.509 facts of a certificate, for the policy of an imported one. */
export function describe(certDer: Buffer): { subject: string; dnsNames: string[]; ekus: string[]; keyUsage: string[]; notBefore: number; notAfter: number } {
    const cert = new x509.X509Certificate(certDer);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    return {
        subject: cert.subject,
        dnsNames: san ? san.names.items.filter((n) => n.type === "dns").map((n) => n.value) : [],
        ekus: eku ? eku.usages.map(String) : [],
        keyUsage: ku ? Object.entries(KEY_USAGES).filter(([, f]) => (ku.usages & f) !== 0).map(([n]) => n) : [],
        notBefore: Math.floor(cert.notBefore.getTime() / 1000),
        notAfter: Math.floor(cert.notAfter.getTime() / 1000),
    };
}
