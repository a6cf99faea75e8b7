/**
 * Verify a stored backup: read it from its location (a file or a blob), compare its SHA-256 with
 * the expected one when given, and check its framing as a Key Vault backup of its kind (secret,
 * key or certificate: from the caller, else the file or blob name, else the blob's tag). Shared
 * by `secret-backup verify`, `restoreBackup` and the package's exports.
 */
import type { TokenCredential } from "@azure/identity";
import { FramingError, backupTagKinds, parseBackupFraming, BackupFraming } from "./backup-framing";
import { parseBackupObjectName } from "./destinations/destination";
import { KINDS, isObjectKind, type ObjectKind } from "./kinds";
import { readBackupBytes } from "./backup-location";
import { sha256Hex } from "./destinations/destination";
import { BackupInputError, BackupVerificationError } from "./backup-errors";

export { BackupInputError, BackupVerificationError, VerificationFailure } from "./backup-errors";

/** Options of `verifyBackup`. */
export interface VerifyOptions {
    /** Expected hex SHA-256 of the stored bytes (the `sha256` output of a `SecretBackup`); checked when given. */
    sha256?: string;
    /** Credential for Blob Storage locations; by default the same one the provider uses. */
    credential?: TokenCredential;
    /**
     * What the backup holds. By default the file or blob name tells (`...key.kvbackup`,
     * `...certificate.kvbackup`, else a secret); needed only for a renamed key or certificate
     * backup, whose tag is shared by both kinds.
     */
    kind?: ObjectKind;
}

/** What a successful verification found; none of it secret. */
export interface VerifiedBackup extends BackupFraming {
    /** The location as a URL (`file://...` or `https://...`). */
    location: string;
    /** Hex SHA-256 of the stored bytes. */
    sha256: string;
    /** Size of the stored bytes. */
    sizeBytes: number;
    /** What the backup holds; absent when only "key or certificate" can be told (a renamed file, no `kind` given). */
    kind?: ObjectKind;
}

/**
 * Reads the backup at `location` (a `file://` URL, a plain path, or a Blob Storage URL) and
 * resolves with what it found only when the backup is sound: present, hashing to
 * `options.sha256` when given and to the 12 hex digits its own name carries when it has a backup
 * name (`..._<sha256 prefix>[.kind].kvbackup`: the one rule every command shares, see
 * `loadVerifiedBackup`), and framed as a Key Vault backup of its kind (tag, then a five-part JWE
 * whose protected header names `alg` and `enc`). Rejects with `BackupInputError` for a malformed
 * location or hash, and with `BackupVerificationError` otherwise (`hash-mismatch` when the bytes
 * disagree with either hash). Never includes the stored bytes in a message.
 */
export async function verifyBackup(location: string, options: VerifyOptions = {}): Promise<VerifiedBackup> {
    return (await loadVerifiedBackup(location, options)).report;
}

/**
 * `verifyBackup`, also handing back the verified bytes (what `restoreBackup` and `restoreVault`
 * send). The only place a backup's bytes are checked against the hash in its own file or blob
 * name: `verify`, `restore --from <file>`, `list --verify`, `restore --all` and `prune` all come
 * here, so a file whose content does not match its name is damaged (`hash-mismatch`), never sent,
 * and reported with the same sentence by every command.
 */
export async function loadVerifiedBackup(
    location: string,
    options: VerifyOptions = {},
): Promise<{ report: VerifiedBackup; bytes: Uint8Array }> {
    const expected = normaliseSha256(options.sha256);
    const { url, bytes } = await readBackupBytes(location, options.credential);
    const sha256 = sha256Hex(bytes);
    if (expected !== undefined && sha256 !== expected) {
        throw new BackupVerificationError(
            "hash-mismatch",
            url,
            `Backup ${url} hashes to ${sha256}, not the expected ${expected}: it changed since it was written, or it is another backup.`,
        );
    }
    const prefix = nameOf(url)?.sha256Prefix.toLowerCase();
    if (prefix !== undefined && !sha256.startsWith(prefix)) {
        throw new BackupVerificationError(
            "hash-mismatch",
            url,
            `Backup ${url} hashes to ${sha256}, but its name says ${prefix}...: it changed since it was written, or it is another backup under this name.`,
        );
    }
    const kind = backupKind(url, bytes, options.kind);
    let framing: BackupFraming;
    try {
        framing = parseBackupFraming(bytes, kind ?? "key");
    } catch (e) {
        if (!(e instanceof FramingError)) throw e;
        const what = kind ? KINDS[kind].noun : "key or certificate";
        throw new BackupVerificationError("damaged", url, `Backup ${url} is not a usable Key Vault ${what} backup: ${e.message}.`);
    }
    const report: VerifiedBackup = { location: url, sha256, sizeBytes: bytes.length, ...framing };
    if (kind) report.kind = kind;
    return { report, bytes };
}

/**
 * The kind a backup holds: `given`, else what its name says (`parseBackupObjectName`), else its
 * tag when only one kind uses it (secrets); undefined for a renamed key or certificate backup.
 * Throws `BackupInputError` when `given` is not a kind or contradicts the name.
 */
function backupKind(url: string, bytes: Uint8Array, given: ObjectKind | undefined): ObjectKind | undefined {
    if (given !== undefined && !isObjectKind(given)) {
        throw new BackupInputError("kind", `kind ${JSON.stringify(given)} is not an object kind; use one of ${Object.keys(KINDS).join(", ")}`);
    }
    const named = nameOf(url)?.kind;
    if (given && named && given !== named) {
        throw new BackupInputError("kind", `kind is "${given}" but the backup's name says it holds a ${named} (${url}); leave kind out or pick the right file`);
    }
    if (given ?? named) return given ?? named;
    const tagged = backupTagKinds(bytes);
    return tagged.length === 1 ? tagged[0] : tagged.length === 0 ? "secret" : undefined;
}

/** What the location's last segment says when it is a backup name this tool writes (`parseBackupObjectName`). */
function nameOf(url: string): ReturnType<typeof parseBackupObjectName> {
    let last = url.split("/").pop() ?? "";
    try {
        last = decodeURIComponent(last);
    } catch {
        // not percent-encoded text: use it as it is
    }
    return parseBackupObjectName(last);
}

function normaliseSha256(sha256: string | undefined): string | undefined {
    if (sha256 === undefined) return undefined;
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
        throw new BackupInputError("sha256", "sha256 must be 64 hexadecimal characters (a SHA-256 digest)");
    }
    return sha256.toLowerCase();
}
