/**
 * `pruneBackups`: removes backups beyond a retention policy, per object. It never removes an
 * object's newest backup, never an entry that is not verifiably this tool's backup (foreign names,
 * blobs without this tool's metadata, bytes that do not hash to their name or do not parse as a
 * Key Vault backup), and nothing at all unless `apply` is set.
 */
import type { TokenCredential } from "@azure/identity";
import type { ObjectKind } from "../destinations/destination";
import { BackupInputError, BackupVerificationError } from "../backup-errors";
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

/** What `pruneBackups` did (or, without `apply`, would do). */
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
    /** Removals that failed, with Storage's or the file system's reason. */
    failed: Array<PruneCandidate & { why: string }>;
    /** What on the service side keeps removed backups (Blob immutability, soft delete). */
    retentionNotes: string[];
}

/**
 * Applies the policy per object (vault, kind, name): backups sorted newest first, the first
 * `keepLast` kept, and any younger than `keepWithinMs` kept; the rest are removed after each is
 * read and verified (hash against its name and metadata, framing), and only when `apply`. Rejects
 * with `BackupInputError` for a bad policy or filter, `BackupVerificationError` for a missing or
 * unreadable destination. A removal that fails is reported in `failed`, never thrown.
 */
export async function pruneBackups(args: PruneArgs): Promise<PruneResult> {
    if (!Number.isInteger(args.keepLast) || args.keepLast < 1) {
        throw new BackupInputError("keep-last", `--keep-last must be a whole number of at least 1 (the newest backup is always kept), got ${JSON.stringify(args.keepLast)}`);
    }
    if (args.keepWithinMs !== undefined && !(args.keepWithinMs >= 0)) throw new BackupInputError("keep-within", "--keep-within must be a duration such as 30d");
    const select = backupSelector(args);
    const credential = args.credential ?? (isBlobDestination(args.destination) ? environmentCredential() : undefined);
    const catalog = await openCatalog(args.destination, { credential });
    const listing = await listCatalog(catalog, select);
    const now = (args.now ?? new Date()).getTime();
    const leftAlone: ForeignEntry[] = [...catalog.foreign];
    const candidates: StoredBackup[] = [];
    let kept = 0;
    for (const object of listing.objects) {
        object.backups.forEach((b, i) => {
            const young = args.keepWithinMs !== undefined && now - Date.parse(b.backedUpAt) < args.keepWithinMs;
            if (i < args.keepLast || young) kept++;
            else if (!b.ownMetadata) leftAlone.push({ location: b.location, why: "a blob without this tool's metadata (not written by it)" });
            else candidates.push(b);
        });
    }
    const remove: StoredBackup[] = [];
    await inParallel(candidates, 8, async (b) => {
        try {
            await verifyStored(b, credential);
            remove.push(b);
        } catch (e) {
            if (!(e instanceof BackupVerificationError)) throw e;
            if (e.reason !== "missing") leftAlone.push({ location: b.location, why: `does not verify as this tool's backup (${e.reason}); left for a person to look at` });
        }
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
        failed: failed.sort(order),
        retentionNotes: await catalog.retentionNotes(),
    };
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
