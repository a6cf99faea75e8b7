/**
 * `pruneBackups`: removes backups beyond a retention policy, per object. Only backups that verify
 * count towards what is kept: it keeps the newest `keepLast` *verified* backups of each object (so
 * an object's last verified backup is never removed), never removes an entry that is not
 * verifiably this tool's backup (foreign names, blobs without this tool's metadata, bytes that do
 * not hash to their name or do not parse as a Key Vault backup), names every object that has
 * damaged backups, and removes nothing at all unless `apply` is set.
 */
import type { TokenCredential } from "@azure/identity";
import type { ObjectKind } from "../destinations/destination";
import { BackupInputError, BackupVerificationError, type VerificationFailure } from "../backup-errors";
import { environmentCredential } from "../credentials";
import { isBlobDestination } from "../destinations";
import { openCatalog, verifyStored, type ForeignEntry, type StoredBackup } from "./catalog";
import { backupSelector, inParallel, listCatalog } from "./list";

/** The retention policy and what to apply it to. */
export interface PruneArgs {
    /** Folder, `file://` URL or Blob Storage container URL (with prefix). */
    destination: string;
    /** Keep this many newest backups of each object (at least 1). */
    keepLast: number;
    /** Also keep every backup younger than this many ms (e.g. 30 days). */
    keepWithinMs?: number;
    /** Remove for real; without it nothing is removed and the result is the plan. */
    apply?: boolean;
    /** Only this vault's backups (URL or host). */
    vault?: string;
    /** Only objects matching these name patterns. */
    names?: string[];
    /** Only these kinds. */
    kinds?: ObjectKind[];
    /** Credential for Blob Storage (Contributor to remove); by default the environment's. */
    credential?: TokenCredential;
    /** "Now" for `keepWithinMs` (tests); default the clock. */
    now?: Date;
}

/** One backup the policy removes: what its name (and metadata) say, as `listBackups` reads it. */
export type PruneCandidate = Pick<StoredBackup, "location" | "vault" | "kind" | "name" | "backedUpAt" | "sizeBytes">;

/** An object some of whose backups do not verify: what a person must look at after a prune. */
export interface DamagedObject {
    vault: string;
    kind: ObjectKind;
    name: string;
    /** How many of its backups verify (0: none of its backups can be restored). */
    verified: number;
    /** Its newest backup that verifies, which the prune keeps; absent when none does. */
    newestVerified?: string;
    /** The backups that do not verify, newest first, with the verification's reason and sentence. */
    failed: Array<{ location: string; reason: VerificationFailure; message: string }>;
}

/** What `pruneBackups` (or, without `apply`, would do). */
export interface PruneResult {
    destination: string;
    applied: boolean;
    /** Backups the policy keeps. */
    kept: number;
    /** Backups beyond the policy: removed when `applied`, else to be removed. */
    remove: PruneCandidate[];
    /** Of `remove`, those removed (empty unless `applied`). */
    removed: PruneCandidate[];
    /** Entries left alone: foreign names, blobs without this tool's metadata, backups that do not verify. */
    leftAlone: ForeignEntry[];
    /** Objects with backups that do not verify (never removed, never counted as kept), in catalog order. */
    damaged: DamagedObject[];
    /** Removals that failed, with Storage's or the file system's reason. */
    failed: Array<PruneCandidate & { why: string }>;
    /** What on the service side keeps removed backups (Blob immutability, soft delete). */
    retentionNotes: string[];
}

/**
 * Applies the policy per object (vault, kind, name): every backup of the object is read and
 * verified (hash against its name and metadata, framing, as every command verifies); those that
 * fail are left alone and named in `damaged`, never counted as kept. Of the verified ones, newest
 * first, the first `keepLast` are kept, and any younger than `keepWithinMs`; the rest are removed,
 * only when `apply`. So an object keeps its newest verified backup whatever else happens, and an
 * object none of whose backups verifies loses nothing. Rejects with `BackupInputError` for a bad
 * policy or filter, `BackupVerificationError` for a missing or unreadable destination. A removal
 * that fails is reported in `failed`, never thrown.
 */
export async function pruneBackups(args: PruneArgs): Promise<PruneResult> {
    if (!Number.isInteger(args.keepLast) || args.keepLast < 1) {
        throw new BackupInputError("keep-last", `--keep-last must be a whole number of at least 1 (the newest verified backup is always kept), got ${JSON.stringify(args.keepLast)}`);
    }
    if (args.keepWithinMs !== undefined && !(args.keepWithinMs >= 0)) throw new BackupInputError("keep-within", "--keep-within must be a duration such as 30d");
    const select = backupSelector(args);
    const credential = args.credential ?? (isBlobDestination(args.destination) ? environmentCredential() : undefined);
    const catalog = await openCatalog(args.destination, { credential });
    const listing = await listCatalog(catalog, select);
    const now = (args.now ?? new Date()).getTime();
    const leftAlone: ForeignEntry[] = [...catalog.foreign];
    const remove: StoredBackup[] = [];
    const damaged: DamagedObject[] = [];
    let kept = 0;
    await inParallel(listing.objects, 8, async (object) => {
        const checks = await Promise.all(object.backups.map((b) => check(b, credential)));
        const failed: DamagedObject["failed"] = [];
        let verified = 0;
        let newestVerified: string | undefined;
        object.backups.forEach((b, i) => {
            const problem = checks[i];
            if (problem?.reason === "missing") return; // gone since it was listed: nothing to keep or remove
            if (problem) {
                failed.push({ location: b.location, reason: problem.reason, message: problem.message });
                leftAlone.push({ location: b.location, why: `does not verify as this tool's backup (${problem.reason}); left for a person to look at` });
                return;
            }
            newestVerified ??= b.location;
            const young = args.keepWithinMs !== undefined && now - Date.parse(b.backedUpAt) < args.keepWithinMs;
            if (verified++ < args.keepLast || young) kept++;
            else if (!b.ownMetadata) leftAlone.push({ location: b.location, why: "a blob without this tool's metadata (not written by it)" });
            else remove.push(b);
        });
        if (failed.length) damaged.push({ vault: object.vault, kind: object.kind, name: object.name, verified, ...(newestVerified ? { newestVerified } : {}), failed });
    });
    const removed: PruneCandidate[] = [];
    const failed: PruneResult["failed"] = [];
    if (args.apply) {
        await inParallel(remove, 8, async (b) => {
            try {
                await catalog.remove(b);
                removed.push(candidate(b));
            } catch (e) {
                failed.push({ ...candidate(b), why: (e as Error).message });
            }
        });
    }
    const order = (a: PruneCandidate, b: PruneCandidate): number => a.location.localeCompare(b.location);
    return {
        destination: catalog.destination,
        applied: !!args.apply,
        kept,
        remove: remove.map(candidate).sort(order),
        removed: removed.sort(order),
        leftAlone: leftAlone.sort((a, b) => a.location.localeCompare(b.location)),
        damaged: damaged.sort((a, b) => a.vault.localeCompare(b.vault) || a.kind.localeCompare(b.kind) || a.name.toLowerCase().localeCompare(b.name.toLowerCase())),
        failed: failed.sort(order),
        retentionNotes: await catalog.retentionNotes(),
    };
}

/** Verifies one backup as every command does; resolves with why it fails, or undefined when it is sound. */
async function check(b: StoredBackup, credential: TokenCredential | undefined): Promise<BackupVerificationError | undefined> {
    try {
        await verifyStored(b, credential);
        return undefined;
    } catch (e) {
        if (e instanceof BackupVerificationError) return e;
        throw e;
    }
}

function candidate(b: StoredBackup): PruneCandidate {
    return { location: b.location, vault: b.vault, kind: b.kind, name: b.name, backedUpAt: b.backedUpAt, sizeBytes: b.sizeBytes };
}

/** Parses a duration like `30d`, `12h`, `90m` or `2w` into ms; throws `BackupInputError` naming `--keep-within`. */
export function parseDuration(text: string): number {
    const m = /^(\d+)([mhdw])$/.exec(text.trim());
    if (!m) throw new BackupInputError("keep-within", `--keep-within ${JSON.stringify(text)} is not a duration: use a whole number and m, h, d or w, e.g. 30d`);
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "m" | "h" | "d" | "w"];
    return Number(m[1]) * unit;
}
