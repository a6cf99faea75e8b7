/**
 * `listBackups`: one row per backed-up object in a destination, from names and metadata alone
 * unless `verify` asks to read and check every backup.
 */
import type { TokenCredential } from "@azure/identity";
import { OBJECT_KINDS, type ObjectKind } from "../destinations/destination";
import { BackupInputError, BackupVerificationError, type VerificationFailure } from "../backup-errors";
import { nameFilter } from "../secret-patterns";
import { KINDS } from "../kinds";
import { VaultError } from "../errors";
import { environmentCredential } from "../credentials";
import { listVaultObjects } from "../vault-listing";
import { checkVaultUrl } from "../restore";
import { DEFAULT_API_VERSION } from "../validate";
import { groupByObject, openCatalog, sameVault, verifyStored, type Catalog, type ForeignEntry, type StoredBackup } from "./catalog";

/** What to list, and whether to verify. */
export interface ListBackupsOptions {
    /** Only backups of this vault: its URL or host (`myvault.vault.azure.net`). */
    vault?: string;
    /** Only objects whose name matches one of these patterns (`*` any run, `?` one character; case-insensitive). */
    names?: string[];
    /** Only these kinds. */
    kinds?: ObjectKind[];
    /** Read every listed backup and check its hash and framing (slow on thousands; default off). */
    verify?: boolean;
    /** Credential for Blob Storage (and for `checkVault`); by default the environment's (as the provider's). */
    credential?: TokenCredential;
    /**
     * A vault URL to compare the destination with: its objects (of `kinds`, or every kind) are
     * listed (needs `list`) and those without a backup here are counted, disabled ones apart
     * (`VaultBackup` skips objects whose current version is disabled unless `includeDisabled`).
     */
    checkVault?: string;
}

/** What `checkVault` found: the vault's objects that a restore from this destination would not bring back. */
export interface VaultCoverage {
    /** The vault compared, normalised. */
    vaultUrl: string;
    /** How many objects the vault lists (certificates' own keys and secrets left out: the certificate's backup holds them). */
    objects: number;
    /** Its objects with no backup in the destination, sorted by kind and name. */
    notBackedUp: Array<{ kind: ObjectKind; name: string; disabled: boolean }>;
    /** Of `notBackedUp`, those whose current version is disabled. */
    disabled: number;
    /** Kinds whose listing was refused (status, code, what to grant). */
    notes: string[];
}

/** Verification of every backup of one object. */
export interface ObjectVerification {
    /** How many of its backups are sound. */
    sound: number;
    /** The ones that are not, with why. */
    failed: Array<{ location: string; reason: VerificationFailure; message: string }>;
}

/** One backed-up object: its backups, newest first. */
export interface ObjectBackups {
    /** The vault's host as the backup names spell it. */
    vault: string;
    kind: ObjectKind;
    name: string;
    /** Its backups, newest first. */
    backups: StoredBackup[];
    /** The newest backup (`backups[0]`). */
    newest: StoredBackup;
    /** Present when `verify` was asked. */
    verification?: ObjectVerification;
}

/** What `listBackups` found. */
export interface BackupListing {
    /** The destination (a folder's absolute path, or the container URL without query). */
    destination: string;
    store: "folder" | "blob";
    objects: ObjectBackups[];
    /** Entries that are not this tool's backups (left alone by every command). */
    foreign: ForeignEntry[];
    /** Present when `checkVault` was given. */
    vaultCheck?: VaultCoverage;
}

/**
 * Lists what `destination` (a folder, `file://` URL, or Blob Storage container URL with optional
 * prefix) holds: one entry per object (vault, kind, name) with its backups newest first. Reads
 * names (and blob metadata) only, unless `verify`. Rejects with `BackupInputError` for a bad
 * destination or filter, `BackupVerificationError` when the folder or container is missing or
 * unreadable (Storage's facts kept).
 */
export async function listBackups(destination: string, options: ListBackupsOptions = {}): Promise<BackupListing> {
    const select = backupSelector(options);
    const vaultUrl = options.checkVault === undefined ? undefined : checkVaultUrl(options.checkVault);
    const catalog = await openCatalog(destination, { credential: options.credential });
    const listing = await listCatalog(catalog, select, options);
    if (vaultUrl) listing.vaultCheck = await vaultCoverage(listing, vaultUrl, options.kinds?.length ? options.kinds : [...OBJECT_KINDS], options.credential ?? environmentCredential());
    return listing;
}

/**
 * Lists `vaultUrl`'s objects of `kinds` and counts those without a backup in `listing`. A kind
 * whose listing is refused with an HTTP status is a note; a failure without one (network,
 * credential) throws `VaultError` with its facts and what to do.
 */
async function vaultCoverage(listing: BackupListing, vaultUrl: string, kinds: ObjectKind[], credential: TokenCredential): Promise<VaultCoverage> {
    const backedUp = new Set(listing.objects.filter((o) => sameVault(o.vault, vaultUrl)).map((o) => `${o.kind} ${o.name.toLowerCase()}`));
    const coverage: VaultCoverage = { vaultUrl, objects: 0, notBackedUp: [], disabled: 0, notes: [] };
    for (const kind of kinds) {
        let listed;
        try {
            listed = await listVaultObjects(KINDS[kind], vaultUrl, DEFAULT_API_VERSION, credential);
        } catch (e) {
            if (e instanceof VaultError && e.facts.status !== undefined) {
                coverage.notes.push(`could not list the vault's ${KINDS[kind].plural}: ${e.message}`);
                continue;
            }
            throw e;
        }
        for (const o of listed.filter((x) => !x.managed)) {
            coverage.objects++;
            if (backedUp.has(`${kind} ${o.name.toLowerCase()}`)) continue;
            coverage.notBackedUp.push({ kind, name: o.name, disabled: !o.enabled });
            if (!o.enabled) coverage.disabled++;
        }
    }
    return coverage;
}

/** `listBackups` over a catalog already opened (`restoreVault` and `pruneBackups` share one). */
export async function listCatalog(catalog: Catalog, select: (b: StoredBackup) => boolean, options: Pick<ListBackupsOptions, "verify" | "credential"> = {}): Promise<BackupListing> {
    const objects = groupByObject(catalog.backups.filter(select)).map((backups) => ({
        vault: backups[0].vault,
        kind: backups[0].kind,
        name: backups[0].name,
        backups,
        newest: backups[0],
    }));
    if (options.verify) {
        await inParallel(objects, 8, async (o: ObjectBackups) => {
            const failed: ObjectVerification["failed"] = [];
            for (const b of o.backups) {
                try {
                    await verifyStored(b, options.credential);
                } catch (e) {
                    if (!(e instanceof BackupVerificationError)) throw e;
                    failed.push({ location: b.location, reason: e.reason, message: e.message });
                }
            }
            o.verification = { sound: o.backups.length - failed.length, failed };
        });
    }
    return { destination: catalog.destination, store: catalog.store, objects, foreign: catalog.foreign };
}

/**
 * The filter `vault`, `names` and `kinds` describe, checked now: throws `BackupInputError`
 * naming `--name` or `--kind` for a malformed pattern or unknown kind.
 */
export function backupSelector(options: Pick<ListBackupsOptions, "vault" | "names" | "kinds">): (b: StoredBackup) => boolean {
    const names = options.names?.length ? compileNames(options.names) : undefined;
    for (const kind of options.kinds ?? []) {
        if (!OBJECT_KINDS.includes(kind)) throw new BackupInputError("kind", `--kind ${JSON.stringify(kind)} is not one of ${OBJECT_KINDS.join(", ")}`);
    }
    const kinds = options.kinds?.length ? new Set(options.kinds) : undefined;
    if (options.vault !== undefined) vaultProblem(options.vault);
    return (b) =>
        (options.vault === undefined || sameVault(b.vault, options.vault)) && (!kinds || kinds.has(b.kind)) && (!names || names.accepts(b.name));
}

/** Compiles `--name` patterns; throws `BackupInputError` naming the bad one. */
export function compileNames(patterns: string[]): ReturnType<typeof nameFilter> {
    try {
        return nameFilter(patterns, [], { include: "--name", exclude: "--exclude" });
    } catch (e) {
        throw new BackupInputError("name", (e as Error).message);
    }
}

function vaultProblem(vault: string): void {
    try {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(vault)) new URL(vault);
        else if (!/^[0-9A-Za-z._:-]+$/.test(vault)) throw new Error("bad host");
    } catch {
        throw new BackupInputError("vault", `--vault ${JSON.stringify(vault)} is neither a vault URL nor a host (e.g. https://myvault.vault.azure.net or myvault.vault.azure.net)`);
    }
}

/** Runs `work` over `items` with at most `limit` at once; rejects with the first failure after all settle. */
export async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const errors: unknown[] = [];
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            const item = items[next++];
            try {
                await work(item);
            } catch (e) {
                errors.push(e);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    if (errors.length) throw errors[0];
}
