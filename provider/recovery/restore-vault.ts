/**
 * `restoreVault`: the newest backup of each selected object in a destination, verified, then
 * restored into a vault, paced under the vault's creation limit with the same 429 back-off as
 * backups. Nothing is ever overwritten: a name the vault already uses (active or soft-deleted) is
 * skipped (or failed) and reported; a soft-deleted one leaves the run incomplete (the object is not
 * usable until it is recovered or purged). One object's failure never stops the others; a vault
 * that cannot be reached at all (its listing fails without an HTTP answer) stops the run at once.
 */
import type { TokenCredential } from "@azure/identity";
import type { ObjectKind } from "../destinations/destination";
import { BackupInputError, BackupVerificationError, type VerificationFailure } from "../backup-errors";
import { environmentCredential } from "../credentials";
import { factsFromError, factsList } from "../errors";
import { restoreFailure, vaultUnreachable } from "../restore-errors";
import { checkApiVersion, checkVaultUrl } from "../restore";
import { DEFAULT_API_VERSION } from "../validate";
import { DEFAULT_THROTTLE_BACKOFF_MS, pacerFor, retryWhileThrottled, type TokenBucket } from "../vault-client";
import { openCatalog, sameVault, verifyStored, type StoredBackup } from "./catalog";
import { backupSelector, compileNames, inParallel, listCatalog, type ObjectBackups } from "./list";
import { restorerFor, type NamesInVault, type ObjectRestorer } from "./object-kinds";
import type { KindInfo } from "../kinds";

/** Restores per vault per 10 s by default: 90% of Key Vault's 300 creations (restore is a creation), as backups keep 90% of 4,000. */
export const DEFAULT_RESTORES_PER_10_SECONDS = 270;
/** Waits after a 409 on a name the vault did not list (a purge still finishing), before reporting it. */
const DEFAULT_PURGE_CONFLICT_BACKOFF_MS = [1000, 2000, 4000, 8000];

/** What to restore from where into where, and how. */
export interface RestoreVaultArgs {
    /** The destination holding the backups: folder, `file://` URL or Blob Storage container URL (with prefix). */
    from: string;
    /** The vault to restore into, e.g. `https://myvault.vault.azure.net` (same subscription and geography as the source). */
    vaultUrl: string;
    /** Restore every object the destination holds (of the source vault). Exactly one of `all` and `names`. */
    all?: boolean;
    /** Restore objects whose names match these patterns (`*`, `?`; case-insensitive); each must match something. */
    names?: string[];
    /** Only these kinds (default all). */
    kinds?: ObjectKind[];
    /** Which vault's backups (URL or host), when the destination holds several; otherwise the one there is. */
    sourceVault?: string;
    /** A name the vault already uses: `skip` (default; reported, not a failure) or `fail` (reported as failed). */
    onConflict?: "skip" | "fail";
    /** Verify and plan only: nothing is sent to Restore. */
    dryRun?: boolean;
    /** Credential for the vault and Blob Storage; by default the environment's (as the provider's). */
    credential?: TokenCredential;
    /** Key Vault API version, default `"7.4"`. */
    apiVersion?: string;
    /** Restore calls per 10 s at most (default 270: 90% of the vault's 300 creations). */
    restoresPer10Seconds?: number;
    /** Objects verified and restored at once (default 8). */
    parallel?: number;
    /** Waits in ms after each 429 (default 1, 2, 4, 8, 16 s). */
    throttleBackoffMs?: number[];
    /** Waits in ms after a 409 on a name the vault did not list, i.e. right after a purge (default 1, 2, 4, 8 s). */
    purgeConflictBackoffMs?: number[];
    /**
     * Stops the run (Ctrl-C): no further object starts, waits (pacing, 429 and 409 back-off) end at
     * once, Restore calls already sent are awaited; the result lists the rest as `not-attempted`
     * and has `interrupted: true`.
     */
    signal?: AbortSignal;
    /** Called after each object is done, for a progress line. */
    onProgress?: (progress: RestoreProgress) => void;
}

/** Counts so far. */
export interface RestoreProgress {
    total: number;
    restored: number;
    skipped: number;
    failed: number;
    planned: number;
    /** Not restored because the run was interrupted first (see `RestoreVaultArgs.signal`). */
    notAttempted: number;
}

/** What happened to one object. */
export interface ObjectRestoreOutcome {
    kind: ObjectKind;
    name: string;
    outcome: "restored" | "skipped" | "failed" | "planned" | "not-attempted";
    /** For a name the vault already uses: whether it is active there or soft-deleted (not usable until recovered or purged). */
    conflict?: "exists" | "soft-deleted";
    /** The backup used (the newest), when there is one. */
    location?: string;
    backedUpAt?: string;
    /** Why it was skipped or failed, facts first (status, code, request id). */
    why?: string;
    /** For a backup that did not verify: missing, unreadable, hash-mismatch or damaged. */
    verification?: VerificationFailure;
    /** For failures and soft-deleted skips: what to do next. */
    whatToDo?: string;
    /** Key Vault's HTTP status and code of a refused restore. */
    status?: number;
    code?: string;
    requestId?: string;
    /** The restored current version's id. */
    id?: string;
}

/** What `restoreVault` did. */
export interface RestoreVaultResult {
    from: string;
    vaultUrl: string;
    /** The source vault's host, as the backup names spell it. */
    sourceVault: string;
    dryRun: boolean;
    objects: ObjectRestoreOutcome[];
    counts: RestoreProgress;
    /**
     * True when everything asked for is in the vault and usable now (restored, or skipped because
     * an active object of the name is there): exit code 0. False when anything failed, was skipped
     * because a soft-deleted object holds its name, or was not attempted.
     */
    complete: boolean;
    /** True when `signal` stopped the run before every object was done. */
    interrupted: boolean;
    /** Things the person should know (a listing that was refused, ...). */
    notes: string[];
}

/**
 * Restores the newest backup of each selected object from `args.from` into `args.vaultUrl`; see
 * the module comment and `RestoreVaultArgs`. Resolves with every object's outcome (failures
 * included: they never stop the others); rejects only when nothing can be done: a malformed
 * argument (`BackupInputError`), a destination that is missing, unreadable or holds no
 * matching backup (`BackupVerificationError`), or a vault whose listing fails without an HTTP
 * answer (network or credential: `RestoreError` with the error's code and what to do; nothing is
 * sent then). A listing refused with an HTTP status (403) is a note, not a stop.
 */
export async function restoreVault(args: RestoreVaultArgs): Promise<RestoreVaultResult> {
    const vaultUrl = checkVaultUrl(args.vaultUrl);
    const apiVersion = checkApiVersion(args.apiVersion ?? DEFAULT_API_VERSION);
    if (!!args.all === !!args.names?.length) throw new BackupInputError("name", "say what to restore: --all, or --name <pattern> (repeatable), not both");
    const onConflict = args.onConflict ?? "skip";
    if (onConflict !== "skip" && onConflict !== "fail") throw new BackupInputError("on-conflict", `--on-conflict ${JSON.stringify(onConflict)} must be skip or fail`);
    const pace = args.restoresPer10Seconds ?? DEFAULT_RESTORES_PER_10_SECONDS;
    if (!(pace >= 1)) throw new BackupInputError("restoresPer10Seconds", "restoresPer10Seconds must be at least 1");
    const credential = args.credential ?? environmentCredential();
    const nameFilter = args.names?.length ? compileNames(args.names) : undefined;
    const select = backupSelector({ names: args.names, kinds: args.kinds });

    const catalog = await openCatalog(args.from, { credential });
    const sourceVault = chooseSourceVault(catalog.backups.filter(select), args.sourceVault, catalog.destination);
    const listing = await listCatalog(catalog, (b) => select(b) && b.vault === sourceVault);
    const outcomes: ObjectRestoreOutcome[] = [];
    for (const pattern of nameFilter?.unmatchedIncludes(listing.objects.map((o) => o.name)) ?? []) {
        outcomes.push({
            kind: args.kinds?.length === 1 ? args.kinds[0] : "secret",
            name: pattern,
            outcome: "failed",
            why: `no backup in ${catalog.destination} matches ${JSON.stringify(pattern)}${sourceVault ? ` for vault ${sourceVault}` : ""}`,
            whatToDo: "check the name with secret-backup list, or point --from at the folder or container that holds it.",
        });
    }
    if (listing.objects.length === 0 && outcomes.length === 0) {
        throw new BackupVerificationError("missing", catalog.destination, `${catalog.destination} holds no backup to restore${args.kinds?.length ? ` of kind ${args.kinds.join(", ")}` : ""}: check --from (the backups' folder or container).`);
    }

    const notes: string[] = [];
    const kinds = [...new Set(listing.objects.map((o) => o.kind))];
    const throttleBackoff = args.throttleBackoffMs ?? DEFAULT_THROTTLE_BACKOFF_MS;
    const restorers = new Map<ObjectKind, { restorer: ObjectRestorer; names?: NamesInVault }>();
    for (const kind of kinds) {
        const restorer = restorerFor(kind, vaultUrl, credential, apiVersion);
        let names: NamesInVault | undefined;
        try {
            names = await restorer.namesInVault(throttleBackoff);
        } catch (e) {
            const f = factsFromError(e);
            if (f.status === undefined) throw vaultUnreachable(e, vaultUrl, restorer.info);
            notes.push(`could not list the vault's ${restorer.info.plural} (${factsList(f) || f.message}); names already in use are known only from Key Vault's 409 answers. Grant the ${restorer.info.plural} "list" permission to see them up front.`);
        }
        restorers.set(kind, { restorer, names });
    }

    const progress: RestoreProgress = { total: listing.objects.length + outcomes.length, restored: 0, skipped: 0, failed: outcomes.length, planned: 0, notAttempted: 0 };
    const sleep = interruptibleSleep(args.signal);
    const pacer = pacerFor(pace, sleep);
    const context: RestoreContext = {
        vaultUrl,
        credential,
        onConflict,
        dryRun: !!args.dryRun,
        pacer,
        throttleBackoff,
        purgeBackoff: args.purgeConflictBackoffMs ?? DEFAULT_PURGE_CONFLICT_BACKOFF_MS,
        sleep,
        signal: args.signal,
    };
    await inParallel(listing.objects, Math.max(1, args.parallel ?? 8), async (object) => {
        const { restorer, names } = restorers.get(object.kind)!;
        const outcome = args.signal?.aborted ? notAttempted(object) : await restoreOne(object, restorer, names, context);
        outcomes.push(outcome);
        progress[outcomeCounter(outcome.outcome)]++;
        if (outcome.outcome !== "not-attempted") args.onProgress?.({ ...progress });
    });
    outcomes.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
    const softDeleted = outcomes.some((o) => o.outcome === "skipped" && o.conflict === "soft-deleted");
    const interrupted = progress.notAttempted > 0;
    return {
        from: catalog.destination,
        vaultUrl,
        sourceVault,
        dryRun: !!args.dryRun,
        objects: outcomes,
        counts: progress,
        complete: progress.failed === 0 && !softDeleted && !interrupted,
        interrupted,
        notes,
    };
}

function outcomeCounter(outcome: ObjectRestoreOutcome["outcome"]): keyof RestoreProgress {
    return outcome === "not-attempted" ? "notAttempted" : outcome;
}

function notAttempted(object: ObjectBackups): ObjectRestoreOutcome {
    return {
        kind: object.kind,
        name: object.name,
        outcome: "not-attempted",
        location: object.newest.location,
        backedUpAt: object.newest.backedUpAt,
        why: "the run was interrupted before it was restored",
    };
}

/** Thrown by the run's waits once its signal is aborted. */
class Interrupted extends Error {
    constructor() {
        super("interrupted");
        this.name = "Interrupted";
    }
}

/** A sleep that ends at once, rejecting with `Interrupted`, when `signal` is (or becomes) aborted. */
function interruptibleSleep(signal: AbortSignal | undefined): (ms: number) => Promise<void> {
    return (ms) =>
        new Promise<void>((resolve, reject) => {
            if (signal?.aborted) return reject(new Interrupted());
            const onAbort = (): void => {
                clearTimeout(timer);
                reject(new Interrupted());
            };
            const timer = setTimeout(() => {
                signal?.removeEventListener("abort", onAbort);
                resolve();
            }, ms);
            signal?.addEventListener("abort", onAbort, { once: true });
        });
}

interface RestoreContext {
    vaultUrl: string;
    credential: TokenCredential;
    onConflict: "skip" | "fail";
    dryRun: boolean;
    pacer: TokenBucket;
    throttleBackoff: readonly number[];
    purgeBackoff: readonly number[];
    sleep: (ms: number) => Promise<void>;
    signal?: AbortSignal;
}

async function restoreOne(object: ObjectBackups, restorer: ObjectRestorer, names: NamesInVault | undefined, c: RestoreContext): Promise<ObjectRestoreOutcome> {
    const newest = object.newest;
    const base = { kind: object.kind, name: object.name, location: newest.location, backedUpAt: newest.backedUpAt };
    const key = object.name.toLowerCase();
    const conflict = names?.active.has(key) ? "exists" : names?.deleted.has(key) ? "soft-deleted" : undefined;
    if (conflict) {
        const why = `a ${restorer.info.noun} of this name ${conflict === "exists" ? "exists in the vault" : "is soft-deleted in the vault"}; restore never overwrites`;
        if (c.onConflict === "skip") {
            return conflict === "exists"
                ? { ...base, outcome: "skipped", conflict, why }
                : { ...base, outcome: "skipped", conflict, why, whatToDo: softDeletedAdvice(restorer.info, "skip") };
        }
        return { ...base, outcome: "failed", conflict, why, whatToDo: conflict === "exists" ? existsAdvice(restorer.info) : softDeletedAdvice(restorer.info, "fail") };
    }
    let bytes: Uint8Array;
    try {
        bytes = (await verifyStored(newest, c.credential)).bytes;
    } catch (e) {
        if (!(e instanceof BackupVerificationError)) throw e;
        const older = object.backups[1];
        return {
            ...base,
            outcome: "failed",
            why: e.message,
            verification: e.reason,
            whatToDo: older
                ? `the newest backup is unusable; restore the one before it (${older.backedUpAt}): secret-backup restore --from ${older.location} --vault ${c.vaultUrl}`
                : "no other backup of it is in this destination; look for a copy elsewhere (another destination, a Blob Storage version or soft-deleted blob).",
        };
    }
    if (c.dryRun) return { ...base, outcome: "planned" };
    const attempt = () => retryWhileThrottled(async () => {
        await c.pacer.take();
        if (c.signal?.aborted) throw new Interrupted();
        return restorer.restore(bytes);
    }, c.throttleBackoff, { sleep: c.sleep });
    try {
        for (let waited = 0; ; waited++) {
            try {
                const answer = await attempt();
                return { ...base, outcome: "restored", id: answer.id, requestId: answer.requestId || undefined };
            } catch (e) {
                // The vault did not list the name, so a 409 is a purge still finishing (or a race): back off, then report.
                if (factsFromError(e).status !== 409 || waited >= c.purgeBackoff.length) throw e;
                await c.sleep(c.purgeBackoff[waited]);
            }
        }
    } catch (e) {
        if (e instanceof Interrupted) return notAttempted(object);
        const f = factsFromError(e);
        const error = restoreFailure(e, newest.location, c.vaultUrl, f.status === 429 ? [...c.throttleBackoff] : undefined, restorer.info);
        const [why, whatToDo] = error.message.split("\nWhat to do: ");
        return { ...base, outcome: "failed", why, whatToDo, status: error.statusCode, code: error.code, requestId: error.requestId };
    }
}

function existsAdvice(kind: KindInfo): string {
    return `keep the vault's ${kind.noun} (run with --on-conflict skip), or delete and purge it (${kind.cli} delete, then ${kind.cli} purge) and run again.`;
}

/** What to do about a soft-deleted object of the name: it is not usable, so the run is not complete under either choice. */
function softDeletedAdvice(kind: KindInfo, onConflict: "skip" | "fail"): string {
    return (
        `the ${kind.noun} is not usable until you act: recover the deleted one if it is what you want (${kind.cli} recover), ` +
        `or purge it (${kind.cli} purge) and run the restore again to bring back the backup (right after a purge, wait a few seconds). ` +
        (onConflict === "skip" ? "With --on-conflict fail it is reported as a failure instead of skipped." : "With --on-conflict skip it is reported as skipped, and the run is still not complete.")
    );
}

/** The one source vault the run restores from; throws `BackupInputError` when it is ambiguous or not there. */
function chooseSourceVault(backups: StoredBackup[], asked: string | undefined, destination: string): string {
    const hosts = [...new Set(backups.map((b) => b.vault))].sort();
    if (asked !== undefined) {
        const host = hosts.find((h) => sameVault(h, asked));
        if (!host) throw new BackupInputError("source-vault", `--source-vault ${asked}: ${destination} holds no backup of that vault${hosts.length ? ` (it holds ${hosts.join(", ")})` : ""}`);
        return host;
    }
    if (hosts.length > 1) throw new BackupInputError("source-vault", `${destination} holds backups of ${hosts.length} vaults (${hosts.join(", ")}): say which with --source-vault <host>`);
    return hosts[0] ?? "";
}
