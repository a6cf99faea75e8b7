/**
 * The backup blob, framed like the service's: one length byte, the tag (secrets: 0x29 +
 * `AzureKeyVaultSecretBackupV1.microsoft.com`; keys AND certificates: 0x26 +
 * `AzureKeyVaultKeyBackupV1.microsoft.com`, as recorded), then a compact JWE holding every version
 * of the object with its attributes. Key and certificate payloads record their kind, so a key blob
 * sent to certificate restore (or the reverse) is refused although the tags are equal. The JWE key derives from the emulator's `backupKey`: emulators that
 * share it restore each other's blobs (the service's "same subscription and geography" rule),
 * every other emulator refuses them.
 *
 * Differs from the service in the key-management algorithm only: the service wraps the content key
 * with RSA-OAEP-256 under a key held in its HSMs; RSA keys cannot be derived from a shared string, so
 * the emulator wraps it with A256KW under an HKDF-derived key. Content encryption is A256CBC-HS512 as
 * in the service, and every call encrypts afresh (random content key and IV).
 */
import { createHash, hkdfSync } from "node:crypto";
import * as jose from "jose";
import type { SecretVersion } from "./store";
import { corruptBackup, invalidBackupVersion } from "./errors";

/** The tag after the length byte in a secret backup blob. */
export const SECRET_BACKUP_TAG = "AzureKeyVaultSecretBackupV1.microsoft.com";
/** The tag after the length byte in key and certificate backup blobs (the service uses one for both). */
export const KEY_BACKUP_TAG = "AzureKeyVaultKeyBackupV1.microsoft.com";

/** The kinds whose blobs share KEY_BACKUP_TAG and are told apart by their payload's `kind`. */
export type ObjectBackupKind = "key" | "certificate";

/** What a backup blob carries: the secret's name and every version. */
export interface BackupPayload {
    name: string;
    versions: SecretVersion[];
    /** A certificate's secret (only when managedBackup is "allow"). */
    managed?: boolean;
}

/** Encrypts and frames backups for one backup key. */
export class BackupCodec {
    private readonly key: Uint8Array;
    /** The key id in the JWE header: a GUID derived from the key, so it names the key without revealing it. */
    readonly kid: string;

    constructor(backupKey: string) {
        this.key = new Uint8Array(hkdfSync("sha256", backupKey, "keyvault-emulator", "secret-backup-wrap-key", 32));
        const h = createHash("sha256").update("kid:").update(this.key).digest("hex");
        this.kid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    }

    /** A secret's blob as the service returns it: base64url without padding. */
    async encode(payload: BackupPayload): Promise<string> {
        return this.seal(SECRET_BACKUP_TAG, payload);
    }

    /** Reads a secret blob back; throws the service's 400 `Malformed backup blob` errors when it cannot. */
    async decode(blob: unknown): Promise<BackupPayload> {
        return parsePayload(await this.open(SECRET_BACKUP_TAG, blob));
    }

    /** A key's or certificate's blob: the key tag, and `kind` recorded inside the encrypted payload. */
    async encodeObject(kind: ObjectBackupKind, payload: object): Promise<string> {
        return this.seal(KEY_BACKUP_TAG, { ...payload, kind });
    }

    /** Reads a key or certificate blob back; a blob of the other kind is 400 Malformed backup blob (see errors.invalidBackupVersion). */
    async decodeObject(kind: ObjectBackupKind, blob: unknown): Promise<Record<string, unknown>> {
        let p: unknown;
        try {
            p = JSON.parse(await this.open(KEY_BACKUP_TAG, blob));
        } catch (e) {
            if (e instanceof SyntaxError) throw invalidBackupVersion();
            throw e;
        }
        if (!p || typeof p !== "object" || (p as { kind?: unknown }).kind !== kind) throw invalidBackupVersion();
        return p as Record<string, unknown>;
    }

    private async seal(tagText: string, payload: object): Promise<string> {
        const jwe = await new jose.CompactEncrypt(Buffer.from(JSON.stringify(payload), "utf8"))
            .setProtectedHeader({ kid: this.kid, alg: "A256KW", enc: "A256CBC-HS512" })
            .encrypt(this.key);
        const tag = Buffer.from(tagText, "ascii");
        return Buffer.concat([Buffer.from([tag.length]), tag, Buffer.from(jwe, "ascii")]).toString("base64url");
    }

    /** The decrypted payload text of a blob framed with `tagText`. */
    private async open(tagText: string, blob: unknown): Promise<string> {
        if (typeof blob !== "string" || !/^[A-Za-z0-9_-]+={0,2}$/.test(blob)) throw corruptBackup();
        const bytes = Buffer.from(blob, "base64url");
        const tagLength = bytes[0];
        const tag = bytes.subarray(1, 1 + tagLength).toString("ascii");
        // The service answers an unknown length byte or tag (e.g. all-zero bytes) with "invalid or corrupt version".
        if (tagLength !== tagText.length || tag !== tagText) throw invalidBackupVersion();
        const jwe = bytes.subarray(1 + tagLength).toString("ascii");
        let header: jose.ProtectedHeaderParameters;
        try {
            header = jose.decodeProtectedHeader(jwe);
        } catch {
            throw corruptBackup();
        }
        if (header.kid !== this.kid) throw invalidBackupVersion();
        let plaintext: Uint8Array;
        try {
            ({ plaintext } = await jose.compactDecrypt(jwe, this.key, { keyManagementAlgorithms: ["A256KW"], contentEncryptionAlgorithms: ["A256CBC-HS512"] }));
        } catch {
            throw invalidBackupVersion();
        }
        return Buffer.from(plaintext).toString("utf8");
    }
}

function parsePayload(text: string): BackupPayload {
    let p: BackupPayload;
    try {
        p = JSON.parse(text) as BackupPayload;
    } catch {
        throw invalidBackupVersion();
    }
    const versionOk = (v: SecretVersion) =>
        typeof v?.version === "string" && typeof v.value === "string" && typeof v.created === "number" && typeof v.updated === "number";
    if (typeof p?.name !== "string" || !Array.isArray(p.versions) || p.versions.length === 0 || !p.versions.every(versionOk)) {
        throw invalidBackupVersion();
    }
    return p;
}
