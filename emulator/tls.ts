/**
 * TLS material for the emulator: a local certificate authority and server certificates it signs.
 * Uses @peculiar/x509 (X.509 building on WebCrypto) so no certificate code is written by hand.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { writeFileAtomic } from "./atomic-file";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM = {
    name: "ECDSA",
    namedCurve: "P-256",
} as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate authority: its certificate and private key, both PEM. */
export interface CertificateAuthority {
    certPem: string;
    keyPem: string;
}

/** A server certificate chain and key, PEM, ready for `https.createServer`. */
export interface ServerCertificate {
    certPem: string;
    keyPem: string;
}

/** Where a CA lives on disk: `ca.pem` (public, for `NODE_EXTRA_CA_CERTS`) and `ca-key.pem` (mode 0600). */
export interface CaFiles {
    caCertPath: string;
    caKeyPath: string;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
    const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
    const body = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
    return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
    const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    return (await webcrypto.subtle.importKey("pkcs8", Buffer.from(body, "base64"), KEY_ALGORITHM, false, [
        "sign",
    ]));
}

async function generateKeys(): Promise<CryptoKeyPair> {
    return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]));
}

/** Creates a new CA valid for ten years, with a name that says it is the emulator's. */
export async function createCa(commonName = "pulumi-keyvault-backup emulator CA"): Promise<CertificateAuthority> {
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        name: `CN=${commonName}`,
        keys,
        notBefore: new Date(Date.now() - DAY_MS),
        notAfter: new Date(Date.now() + 3650 * DAY_MS),
        signingAlgorithm: SIGNING,
        extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return { certPem: cert.toString("pem") + "\n", keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * Issues a server certificate signed by `ca` for the given host names and IP addresses
 * (by default `localhost`, `127.0.0.1` and `::1`), valid for one year.
 */
export async function issueServerCertificate(
    ca: CertificateAuthority,
    hosts: string[] = ["localhost", "127.0.0.1", "::1"],
): Promise<ServerCertificate> {
    const caCert = new x509.X509Certificate(ca.certPem);
    const caKey = await importKeyPem(ca.keyPem);
    const keys = await generateKeys();
    const names = hosts.map((h) =>
        /^[\d.]+$/.test(h) || h.includes(":") ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h },
    );
    const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${hosts[0] ?? "localhost"}`,
        issuer: caCert.subject,
        publicKey: keys.publicKey,
        signingKey: caKey,
        notBefore: new Date(Date.now() - DAY_MS),
        notAfter: new Date(Date.now() + 365 * DAY_MS),
        signingAlgorithm: SIGNING,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            new x509.SubjectAlternativeNameExtension(names),
            await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ],
    });
    return { certPem: cert.toString("pem") + "\n", keyPem: await exportKeyPem(keys.privateKey) };
}

/** Reads a CA from `files`; throws an error naming the file when it is missing or unreadable. */
export function readCa(files: CaFiles): CertificateAuthority {
    const read = (p: string, what: string) => {
        try {
            return fs.readFileSync(p, "utf8");
        } catch (e) {
            throw new Error(`cannot read the emulator's ${what} at ${p}: ${(e as Error).message}`);
        }
    };
    return { certPem: read(files.caCertPath, "CA certificate"), keyPem: read(files.caKeyPath, "CA key") };
}

/**
 * Returns the CA kept in `dir` (`ca.pem`, `ca-key.pem`), creating it the first time.
 * The folder is made mode 0700 and the key written mode 0600, atomically.
 */
export async function loadOrCreateCa(dir: string): Promise<CaFiles & CertificateAuthority> {
    const files: CaFiles = { caCertPath: path.join(dir, "ca.pem"), caKeyPath: path.join(dir, "ca-key.pem") };
    if (fs.existsSync(files.caCertPath) && fs.existsSync(files.caKeyPath)) {
        return { ...files, ...readCa(files) };
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ca = await createCa();
    writeFileAtomic(files.caKeyPath, ca.keyPem, 0o600);
    writeFileAtomic(files.caCertPath, ca.certPem, 0o644);
    return { ...files, ...ca };
}
