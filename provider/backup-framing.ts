/**
 * The framing of a Key Vault backup blob, checked without the key that encrypts it: one length
 * byte, the kind's tag (`AzureKeyVaultSecretBackupV1.microsoft.com` for secrets,
 * `AzureKeyVaultKeyBackupV1.microsoft.com` for keys and certificates alike, see `kinds.ts`), then
 * a compact JWE (five base64url parts) whose protected header names `alg` and `enc`. Pure; no I/O.
 *
 * Nothing here ever echoes the blob's bytes: a file given by mistake may hold a secret in clear.
 */
import { decodeProtectedHeader } from "jose";
import { KINDS, kindsWithTag, type ObjectKind } from "./kinds";

/** The tag Key Vault puts in front of a secret backup. */
export const SECRET_BACKUP_TAG = KINDS.secret.blobTag;
/** The tag Key Vault puts in front of a key backup, and of a certificate backup too. */
export const KEY_BACKUP_TAG = KINDS.key.blobTag;

/** What the framing of a sound secret backup tells, none of it secret. */
export interface BackupFraming {
    /** The JWE key-management algorithm, e.g. `RSA-OAEP-256`. */
    alg: string;
    /** The JWE content encryption, e.g. `A256CBC-HS512`. */
    enc: string;
    /** The `kid` of Key Vault's backup-encryption key, when the header names one. */
    kid?: string;
}

/** Thrown when bytes are not a well-formed backup of the expected kind; `message` says what is wrong, never what the bytes are. */
export class FramingError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "FramingError";
    }
}

/** Byte lengths of the JWE initialisation vector and authentication tag for each `enc` (RFC 7518 §5). */
const CONTENT_ENCRYPTION: Record<string, { iv: number; tag: number; block: number }> = {
    "A128CBC-HS256": { iv: 16, tag: 16, block: 16 },
    "A192CBC-HS384": { iv: 16, tag: 24, block: 16 },
    "A256CBC-HS512": { iv: 16, tag: 32, block: 16 },
    A128GCM: { iv: 12, tag: 16, block: 1 },
    A192GCM: { iv: 12, tag: 16, block: 1 },
    A256GCM: { iv: 12, tag: 16, block: 1 },
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const SAFE_NAME = /^[A-Za-z0-9+_-]{1,40}$/;

/**
 * Checks that `bytes` (the decoded blob, as the backup call returns it and destinations store it)
 * is framed as a Key Vault backup of `kind` (a secret by default) and returns what the framing
 * tells. Throws `FramingError` naming the first thing wrong: empty, another kind's backup, no
 * backup tag, not a five-part JWE, an unreadable protected header, or parts whose lengths do not
 * fit `enc` (which is how truncation and appended bytes show). Key and certificate backups share
 * one tag, so the framing cannot tell those two apart.
 */
export function parseBackupFraming(bytes: Uint8Array, kind: ObjectKind = "secret"): BackupFraming {
    const jwe = afterTag(bytes, kind);
    const parts = jwe.split(".");
    if (parts.length !== 5) {
        throw new FramingError(`after the tag there is no compact JWE: ${parts.length} dot-separated parts where a JWE has five (truncated or damaged)`);
    }
    if (!parts.every((p) => BASE64URL.test(p))) {
        throw new FramingError("the JWE after the tag holds characters outside base64url (damaged, or text appended)");
    }
    const header = readHeader(jwe);
    checkPartLengths(parts, header);
    return header;
}

/** The kinds whose tag `bytes` start with (one for secrets, two for the tag keys and certificates share); [] for none. */
export function backupTagKinds(bytes: Uint8Array): ObjectKind[] {
    if (bytes.length === 0) return [];
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return kindsWithTag(buf.subarray(1, 1 + buf[0]).toString("latin1")).map((k) => k.kind);
}

function afterTag(bytes: Uint8Array, kind: ObjectKind): string {
    if (bytes.length === 0) throw new FramingError("the blob is empty");
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tagLength = buf[0];
    const tag = buf.subarray(1, 1 + tagLength).toString("latin1");
    const expected = KINDS[kind];
    const tagged = kindsWithTag(tag);
    if (tag !== expected.blobTag && tagged.length) {
        const nouns = tagged.map((k) => k.noun).join(" or ");
        const calls = tagged.map((k) => `Restore ${k.title}`).join(" or ");
        throw new FramingError(`this is a Key Vault ${nouns} backup, not a ${expected.noun} backup (restore it with ${calls})`);
    }
    if (tagLength !== expected.blobTag.length || tag !== expected.blobTag) {
        if (looksLikeEncodedBackup(buf)) {
            throw new FramingError("the file holds the base64url text of a backup (as the REST API returns it), not the decoded bytes; decode it first");
        }
        throw new FramingError(`the blob does not start with the ${expected.noun} backup tag ${expected.blobTag}`);
    }
    return buf.subarray(1 + tagLength).toString("latin1");
}

/** Whether the bytes are the base64url text whose decoding starts with a backup tag. */
function looksLikeEncodedBackup(buf: Buffer): boolean {
    const head = buf.subarray(0, 64).toString("latin1");
    if (!/^[A-Za-z0-9_-]{64}$/.test(head)) return false;
    return backupTagKinds(Buffer.from(head, "base64url")).length > 0;
}

function readHeader(jwe: string): BackupFraming {
    let header: Record<string, unknown>;
    try {
        header = decodeProtectedHeader(jwe) as Record<string, unknown>;
    } catch {
        throw new FramingError("the JWE's protected header is not base64url-encoded JSON");
    }
    const { alg, enc, kid } = header;
    if (typeof alg !== "string" || !SAFE_NAME.test(alg)) throw new FramingError("the JWE's protected header has no valid alg");
    if (typeof enc !== "string" || !SAFE_NAME.test(enc)) throw new FramingError("the JWE's protected header has no valid enc");
    if (!(enc in CONTENT_ENCRYPTION)) throw new FramingError(`the JWE's enc ${enc} is not a JWE content encryption algorithm`);
    return typeof kid === "string" && SAFE_NAME.test(kid) ? { alg, enc, kid } : { alg, enc };
}

function checkPartLengths(parts: string[], header: BackupFraming): void {
    if (parts.some((p) => p.length % 4 === 1)) throw new FramingError("a JWE part has a length no base64url text can have (damaged)");
    const [, encryptedKey, iv, ciphertext, tag] = parts.map((p) => Math.floor((p.length * 3) / 4));
    const want = CONTENT_ENCRYPTION[header.enc];
    if (encryptedKey === 0 && header.alg !== "dir") throw new FramingError("the JWE has no encrypted key");
    if (iv !== want.iv) throw new FramingError(`the JWE's initialisation vector is ${iv} bytes; ${header.enc} uses ${want.iv}`);
    if (ciphertext === 0 || ciphertext % want.block !== 0) {
        throw new FramingError(`the JWE's ciphertext is ${ciphertext} bytes, not whole ${want.block}-byte blocks (truncated or damaged)`);
    }
    if (tag !== want.tag) {
        throw new FramingError(`the JWE's authentication tag is ${tag} bytes; ${header.enc} uses ${want.tag} (truncated or damaged)`);
    }
}
