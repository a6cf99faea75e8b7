/**
 * The backup blob, framed like the service's: one length byte (0x29 = 41), the tag
 * `AzureKeyVaultSecretBackupV1.microsoft.com`, then a compact JWE holding every version of the
 * secret with its attributes. The JWE key derives from the emulator's `backupKey`: emulators that
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

/** What a backup blob carries: the secret's name and every version. */
export interface BackupPayload {
    name: string;
    versions: SecretVersion[];
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

    /** The blob as the service returns it: base64url without padding. */
    async encode(payload: BackupPayload): Promise<string> {
        const jwe = await new jose.CompactEncrypt(Buffer.from(JSON.stringify(payload), "utf8"))
            .setProtectedHeader({ kid: this.kid, alg: "A256KW", enc: "A256CBC-HS512" })
            .encrypt(this.key);
        const tag = Buffer.from(SECRET_BACKUP_TAG, "ascii");
        return Buffer.concat([Buffer.from([tag.length]), tag, Buffer.from(jwe, "ascii")]).toString("base64url");
    }

    /** Reads a blob back; throws the service's 400 `Malformed backup blob` errors when it cannot. */
    async decode(blob: unknown): Promise<BackupPayload> {
        if (typeof blob !== "string" || !/^[A-Za-z0-9_-]+={0,2}$/.test(blob)) throw corruptBackup();
        const bytes = Buffer.from(blob, "base64url");
        const tagLength = bytes[0];
        const tag = bytes.subarray(1, 1 + tagLength).toString("ascii");
        if (tagLength !== SECRET_BACKUP_TAG.length || tag !== SECRET_BACKUP_TAG) throw corruptBackup();
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
        return parsePayload(Buffer.from(plaintext).toString("utf8"));
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
