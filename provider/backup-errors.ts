/** Errors of restore/verify: the caller's input, or the stored backup itself. */

/**
 * Thrown when an argument of `verifyBackup`/`restoreBackup` (and so of the `secret-backup`
 * command) is malformed; `input` names the argument. The CLI exits 2 for these.
 */
export class BackupInputError extends Error {
    constructor(readonly input: string, message: string) {
        super(message);
        this.name = "BackupInputError";
    }
}

/** Why a backup failed verification. */
export type VerificationFailure = "missing" | "unreadable" | "hash-mismatch" | "damaged";

/** Thrown when a backup is missing, unreadable, differs from the expected hash or is not a well-formed secret backup. */
export class BackupVerificationError extends Error {
    constructor(readonly reason: VerificationFailure, readonly location: string, message: string) {
        super(message);
        this.name = "BackupVerificationError";
    }
}
