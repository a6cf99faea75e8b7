/**
 * `VaultBackup`: one backup resource per secret, key and certificate of a vault, found by listing
 * the vault when the program runs (so an object added to the vault gets a backup on the next
 * `pulumi up`, and one that got a new version gets a new backup).
 */
import * as pulumi from "@pulumi/pulumi";
import { newObjectBackup, type ObjectBackup, type SecretBackup } from "./resource";
import { nameFilter, type NameFilter } from "./secret-patterns";
import { listVaultObjects, programCredential, type ListedObject } from "./vault-listing";
import { VaultError } from "./errors";
import { DEFAULT_THROTTLE_BACKOFF_MS, throttlePauseMessage } from "./vault-client";
import { KINDS, OBJECT_KINDS, isObjectKind, type KindInfo, type ObjectKind } from "./kinds";
import { apiVersionProblem, DEFAULT_API_VERSION, normalizeApiVersion, normalizeVaultUrl, vaultUrlProblem, type ApiVersion } from "./validate";

/** Name patterns per kind; a kind left out takes the default (include everything, exclude nothing). */
export type KindPatterns = Partial<Record<ObjectKind, string[]>>;

/** The inputs of a `VaultBackup`. */
export interface VaultBackupArgs {
    /**
     * The vault's base URL, e.g. `https://myvault.vault.azure.net`. A plain string: the vault is
     * listed while the program runs, so its URL must be known then.
     */
    vaultUrl: string;
    /**
     * Which kinds of object to back up; default all three: `["secret", "key", "certificate"]`.
     * When left out, a kind the identity may not list (403) is skipped with a warning, so a stack
     * made when only secrets were backed up keeps working; when given, that 403 fails the program.
     */
    kinds?: ObjectKind[];
    /**
     * Name patterns to back up (`*` any run of characters, `?` one; case-insensitive): a list for
     * every kind, or a list per kind (`{ secret: [...], key: [...] }`). Default: everything.
     */
    include?: string[] | KindPatterns;
    /** Name patterns to leave out, applied after `include`: a list for every kind, or per kind. */
    exclude?: string[] | KindPatterns;
    /** Passed to every backup: folder, `file://` URL or Blob Storage container URL. Default `./secret-backups`. */
    destination?: pulumi.Input<string>;
    /** Passed to every backup: a change in any value takes a new backup of every object. */
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    /** Key Vault API version for listing and every backup; default `7.4`. A plain string. */
    apiVersion?: string;
    /**
     * Also back up objects whose current version is disabled (default false: they are skipped with
     * a warning). Key Vault refuses to read a disabled secret (403 SecretDisabled); whether backup
     * accepts one is not documented, so this is the way to find out without losing it silently.
     */
    includeDisabled?: boolean;
}

/** The type token of `VaultBackup` components. */
export const VAULT_BACKUP_TYPE = "pulumi-keyvault-backup:index:VaultBackup";

/** The outputs of a `VaultBackup` (the plugin's component returns the same ones from `construct`). */
export const VAULT_BACKUP_OUTPUTS = ["secretNames", "skipped", "skippedByKind", "locations", "hashes", "objects"] as const;

/** What `VaultBackup.objects` tells about one backed-up object. */
export interface BackedUpObject {
    /** `file://` or `https://` URL of its newest backup. */
    location: string;
    /** Hex SHA-256 of that backup. */
    sha256: string;
    /** The object's version that backup holds (the newest then); "" until a `pulumi refresh` has read it (the backup skips that listing). */
    version: string;
}

interface VaultBackupData {
    byKind: Record<ObjectKind, Record<string, ObjectBackup>>;
    skippedByKind: Record<ObjectKind, string[]>;
}

/**
 * Backs up every secret, key and certificate of a vault (optionally only some `kinds`, filtered by
 * `include`/`exclude`) as one child backup resource each: `SecretBackup` named
 * `<name>/<secret name>`, `KeyBackup` named `<name>/keys/<key name>`, `CertificateBackup` named
 * `<name>/certificates/<certificate name>` (see `childName`), so each object keeps its backup across runs.
 *
 * The vault is listed while the program runs, with the same credential rules as the provider
 * (`azure-native:*` config, else the environment): the identity needs each kind's `list`
 * permission as well as `backup`. Each child gets the listing's `updated` time, so an object that
 * got a new version since its backup is backed up again by a plain `pulumi up`, and only that
 * one. An object added to the vault gets a backup on the next `pulumi up`; one removed from the
 * vault (or filtered out) drops its backup resource, whose deletion keeps the backup files.
 * A certificate's managed key and secret are skipped (one info line with the count): the
 * certificate's backup holds them. Objects whose current version is disabled are skipped with a
 * warning (see `skipped`) unless `includeDisabled` is set. The provider paces backup calls per
 * vault, so a large vault is not throttled into failure.
 */
export class VaultBackup extends pulumi.ComponentResource<VaultBackupData> {
    /** The child secret backups by secret name, once the vault has been listed. */
    readonly backups: Promise<Record<string, SecretBackup>>;
    /** The child backups by kind and object name, once the vault has been listed. */
    readonly backupsByKind: Promise<Record<ObjectKind, Record<string, ObjectBackup>>>;
    /** The names of the secrets backed up, sorted. */
    readonly secretNames: pulumi.Output<string[]>;
    /** Secrets skipped because their current version is disabled, sorted. */
    readonly skipped: pulumi.Output<string[]>;
    /** Objects skipped because their current version is disabled, by kind, sorted. */
    readonly skippedByKind: pulumi.Output<Record<ObjectKind, string[]>>;
    /** Each backed-up secret's backup location (`file://` or `https://` URL), by secret name. */
    readonly locations: pulumi.Output<Record<string, string>>;
    /** Each backed-up secret's hex SHA-256 of its backup blob, by secret name. */
    readonly hashes: pulumi.Output<Record<string, string>>;
    /** Per kind and object name: the newest backup's location and sha256, and the version it holds. */
    readonly objects: pulumi.Output<Record<ObjectKind, Record<string, BackedUpObject>>>;

    /** The component's type token; the provider plugin's subclass registers under its own package's token. */
    static readonly typeToken: string = VAULT_BACKUP_TYPE;

    /** Lists the vault and declares the backups; throws naming the input when `args` are malformed. */
    constructor(name: string, args: VaultBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super((new.target as typeof VaultBackup).typeToken, name, checkedArgs(args), opts);
        const data = this.getData();
        this.backupsByKind = data.then((d) => d.byKind);
        this.backups = data.then((d) => d.byKind.secret as Record<string, SecretBackup>);
        this.secretNames = pulumi.output(data.then((d) => Object.keys(d.byKind.secret)));
        this.skipped = pulumi.output(data.then((d) => d.skippedByKind.secret));
        this.skippedByKind = pulumi.output(data.then((d) => d.skippedByKind));
        this.locations = pulumi.output(data.then((d) => collect(d.byKind.secret, (b) => b.location)));
        this.hashes = pulumi.output(data.then((d) => collect(d.byKind.secret, (b) => b.sha256)));
        this.objects = pulumi.output(data.then((d) => objectsOutput(d.byKind)));
    }

    /** Lists the vault and creates the children; runs once, from Pulumi's component constructor. */
    protected override async initialize(args: pulumi.Inputs, _opts?: pulumi.ComponentResourceOptions, name?: string): Promise<VaultBackupData> {
        const a = derived(args as CheckedArgs);
        const credential = this.listingCredential();
        // One line per throttling pause of the vault, not one per kind's listing paused with it.
        let pausedUntil = 0;
        const onPause = (waitMs: number, attempt: number, attempts: number): void => {
            if (Date.now() < pausedUntil) return;
            pausedUntil = Date.now() + waitMs;
            pulumi.log.info(throttlePauseMessage({ vaultUrl: a.vaultUrl, waitMs, attempt, attempts }), this);
        };
        const listings = await Promise.all(a.kinds.map((k) => this.list(a, KINDS[k], credential, onPause)));
        const byKind = emptyByKind<Record<string, ObjectBackup>>(() => ({}));
        const skippedByKind = emptyByKind<string[]>(() => []);
        const counts: string[] = [];
        let managed = 0;
        let chosenCount = 0;
        for (const [i, kindName] of a.kinds.entries()) {
            const listed = listings[i];
            if (!listed) continue;
            const kind = KINDS[kindName];
            const filter = a.filters[kindName];
            const own = listed.filter((o) => !o.managed);
            managed += listed.length - own.length;
            const chosen = own.filter((o) => filter.accepts(o.name));
            skippedByKind[kindName] = a.includeDisabled ? [] : chosen.filter((o) => !o.enabled).map((o) => o.name);
            for (const o of chosen.filter((x) => a.includeDisabled || x.enabled)) {
                byKind[kindName][o.name] = this.newBackup(kind, childName(name!, o.name, kindName), o.name, childArgs(a, o), { parent: this });
            }
            counts.push(`${listed.length} ${listed.length === 1 ? kind.noun : kind.plural}`);
            chosenCount += Object.keys(byKind[kindName]).length;
        }
        this.report(a, counts, chosenCount, managed, skippedByKind, listings, a.kinds.flatMap((k) => Object.values(byKind[k])));
        const objects = objectsOutput(byKind);
        this.registerOutputs({
            secretNames: Object.keys(byKind.secret),
            skipped: skippedByKind.secret,
            locations: collect(byKind.secret, (b) => b.location),
            hashes: collect(byKind.secret, (b) => b.sha256),
            objects,
        });
        return { byKind, skippedByKind };
    }

    /**
     * Declares the backup resource of one listed object: a dynamic `SecretBackup`, `KeyBackup` or
     * `CertificateBackup` here; the provider plugin's subclass declares the plugin's own resources.
     */
    protected newBackup(kind: KindInfo, resourceName: string, objectName: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions): ObjectBackup {
        return newObjectBackup(kind, resourceName, objectName, args, opts);
    }

    /** The credential the vault is listed with: the provider's rules over the stack configuration. */
    protected listingCredential(): ReturnType<typeof programCredential> {
        return programCredential({ get: (key: string) => pulumi.runtime.getConfig(key) });
    }

    /** One kind's listing; undefined (with a warning) when `kinds` was left out and the identity may not list this kind. */
    private async list(a: DerivedArgs, kind: KindInfo, credential: ReturnType<typeof programCredential>, onPause: (waitMs: number, attempt: number, attempts: number) => void): Promise<ListedObject[] | undefined> {
        try {
            return await listVaultObjects(kind, a.vaultUrl, a.apiVersion, credential, DEFAULT_THROTTLE_BACKOFF_MS, onPause);
        } catch (e) {
            if (a.kindsGiven || kind.kind === "secret" || !(e instanceof VaultError) || e.facts.status !== 403) throw e;
            pulumi.log.warn(
                `${a.vaultUrl}: ${kind.plural} are not backed up: the identity may not list them (${e.message.split("\n")[0]}). ` +
                `Grant it the ${kind.plural} "list" and "backup" permissions, or set kinds to say which kinds to back up.`,
                this,
            );
            return undefined;
        }
    }

    private report(a: DerivedArgs, counts: string[], chosen: number, managed: number, skipped: Record<ObjectKind, string[]>, listings: Array<ListedObject[] | undefined>, children: ObjectBackup[]): void {
        const listed = `${a.vaultUrl}: listed ${counts.join(", ") || "nothing"}`;
        if (pulumi.runtime.isDryRun()) {
            // A preview takes no backup: say what is planned, once the engine has said which backups change.
            void previewPlan(children).then((plan) => pulumi.log.info(`${listed}; ${plan} (a preview takes no backup)`, this));
        } else {
            pulumi.log.info(`${listed}; ${chosen} kept backed up (each backed up when new or changed)`, this);
        }
        if (managed) {
            pulumi.log.info(`${managed} managed ${managed === 1 ? "key or secret" : "keys and secrets"} skipped: each belongs to a certificate, whose backup holds it`, this);
        }
        const disabled = a.kinds.flatMap((k) => skipped[k].map((n) => (k === "secret" ? n : `${KINDS[k].noun} ${n}`)));
        if (disabled.length) {
            pulumi.log.warn(`not backed up because their current version is disabled (set includeDisabled to try them): ${disabled.join(", ")}`, this);
        }
        const unmatched = a.unmatchedIncludes(listings);
        if (unmatched.length) pulumi.log.warn(`include patterns that match nothing in ${a.vaultUrl}: ${unmatched.join(", ")}`, this);
    }
}

/**
 * What a preview plans for the backups `children`, as the engine answered their registrations: a
 * new backup (no id yet) is due as new; one with an id whose `sha256` is not known is due because
 * its provider's diff found a change (its own log line says which: a new version in the vault, a
 * changed input, a stored backup gone); one with both known is unchanged. E.g. `2 due (1 new, 1
 * changed: each one's line says why), 3 unchanged`.
 */
async function previewPlan(children: ObjectBackup[]): Promise<string> {
    const states = await Promise.all(children.map(async (c) => ((await isKnown(c.id)) ? ((await isKnown(c.sha256)) ? "unchanged" : "changed") : "new")));
    const count = (s: string): number => states.filter((x) => x === s).length;
    const [created, changed, unchanged] = [count("new"), count("changed"), count("unchanged")];
    const why = [created ? `${created} new` : "", changed ? `${changed} changed: ${changed === 1 ? "its" : "each one's"} line says why` : ""].filter(Boolean).join(", ");
    return `${created + changed} due${why ? ` (${why})` : ""}, ${unchanged} unchanged`;
}

/** Whether `o` has a value in this run (false for what a preview cannot know yet). Reads the SDK's own `isKnown`; an Output without one counts as known. */
function isKnown(o: pulumi.Output<unknown>): Promise<boolean> {
    return (o as unknown as { isKnown?: Promise<boolean> }).isKnown ?? Promise.resolve(true);
}

/**
 * The child resource name for the object `objectName` of `kind`: `<component>/<secret>` for
 * secrets (as before keys and certificates existed, so existing children keep their URNs),
 * `<component>/keys/<key>` and `<component>/certificates/<certificate>` for the others. Stable
 * across runs, and unique because `/` cannot occur in an object name (with `-`, "a" + "b-c" and
 * "a-b" + "c" would collide).
 */
export function childName(componentName: string, objectName: string, kind: ObjectKind = "secret"): string {
    return kind === "secret" ? `${componentName}/${objectName}` : `${componentName}/${KINDS[kind].plural}/${objectName}`;
}

/**
 * The component's inputs after checking: plain data only (they are registered as the component's
 * inputs), and only the keys `VaultBackup` registered before keys and certificates existed, plus
 * `kinds` when given, so an existing stack's component shows no change.
 */
interface CheckedArgs {
    vaultUrl: string;
    kinds?: ObjectKind[];
    include?: string[] | KindPatterns;
    exclude?: string[] | KindPatterns;
    destination?: pulumi.Input<string>;
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    apiVersion: ApiVersion;
    includeDisabled: boolean;
}

/** What `initialize` works with: the checked inputs, the kinds to list and each kind's name filter. */
interface DerivedArgs extends CheckedArgs {
    kinds: ObjectKind[];
    kindsGiven: boolean;
    filters: Record<ObjectKind, NameFilter>;
    unmatchedIncludes: (listings: Array<ListedObject[] | undefined>) => string[];
}

function derived(a: CheckedArgs): DerivedArgs {
    const kinds = checkedKinds(a.kinds);
    const filters = emptyByKind<NameFilter>((k) => nameFilter(patternsFor(a.include, "include", k), patternsFor(a.exclude, "exclude", k)));
    const unmatchedIncludes = (listings: Array<ListedObject[] | undefined>): string[] => {
        const names = (k: ObjectKind): string[] => listings[kinds.indexOf(k)]?.map((o) => o.name) ?? [];
        if (a.include === undefined || Array.isArray(a.include)) return filters.secret.unmatchedIncludes(kinds.flatMap(names));
        return kinds.flatMap((k) => filters[k].unmatchedIncludes(names(k)).map((p) => `${p} (${KINDS[k].plural})`));
    };
    return { ...a, kinds, kindsGiven: a.kinds !== undefined, filters, unmatchedIncludes };
}

function childArgs(a: DerivedArgs, o: ListedObject): Record<string, unknown> {
    const args: Record<string, unknown> = { vaultUrl: a.vaultUrl, destination: a.destination, triggers: a.triggers, apiVersion: a.apiVersion };
    if (o.updatedOn) args.sourceUpdatedOn = o.updatedOn;
    return args;
}

function checkedArgs(args: VaultBackupArgs): CheckedArgs {
    if (pulumi.Output.isInstance(args?.vaultUrl) || (args?.vaultUrl as unknown) instanceof Promise) {
        throw new Error(
            "VaultBackup: vaultUrl must be a plain string, not an Output or a Promise: VaultBackup lists the vault while the program runs, " +
            "to decide which backups exist, and an Output has no value then. Pass the URL as a string (from stack config, for example), " +
            "or back up single objects with SecretBackup, KeyBackup or CertificateBackup, which accept Outputs.",
        );
    }
    const urlProblem = vaultUrlProblem(args?.vaultUrl);
    if (urlProblem) throw new Error(`VaultBackup: vaultUrl: ${urlProblem}`);
    const apiVersion = args.apiVersion ?? DEFAULT_API_VERSION;
    const versionProblem = apiVersionProblem(apiVersion);
    if (versionProblem) throw new Error(`VaultBackup: apiVersion: ${versionProblem}`);
    const checked: CheckedArgs = { vaultUrl: normalizeVaultUrl(args.vaultUrl), apiVersion: normalizeApiVersion(apiVersion)!, includeDisabled: args.includeDisabled === true };
    if (args.kinds !== undefined) checked.kinds = args.kinds;
    if (args.include !== undefined) checked.include = args.include;
    if (args.exclude !== undefined) checked.exclude = args.exclude;
    derived(checked); // throws naming the bad kind or pattern, before anything is listed
    if (args.destination !== undefined) checked.destination = args.destination;
    if (args.triggers !== undefined) checked.triggers = args.triggers;
    return checked;
}

function checkedKinds(kinds: unknown): ObjectKind[] {
    if (kinds === undefined) return [...OBJECT_KINDS];
    const what = `use a list of ${OBJECT_KINDS.map((k) => `"${k}"`).join(", ")}`;
    if (!Array.isArray(kinds) || kinds.length === 0) throw new Error(`VaultBackup: kinds must be a non-empty list; ${what}`);
    kinds.forEach((k, i) => {
        if (!isObjectKind(k)) throw new Error(`VaultBackup: kinds[${i}] ${JSON.stringify(k)} is not an object kind; ${what}`);
        if (kinds.indexOf(k) !== i) throw new Error(`VaultBackup: kinds names "${k}" twice`);
    });
    // Listed and backed up in the table's order, whatever order they were given in.
    return OBJECT_KINDS.filter((k) => kinds.includes(k));
}

/** The patterns of `input` that apply to `kind`: the list itself, or the kind's entry; undefined for the default. */
function patternsFor(patterns: string[] | KindPatterns | undefined, input: string, kind: ObjectKind): string[] | undefined {
    if (patterns === undefined || Array.isArray(patterns)) return patterns;
    if (typeof patterns !== "object" || patterns === null) throw new Error(`VaultBackup: ${input} must be a list of name patterns, or one list per kind`);
    for (const k of Object.keys(patterns)) {
        if (!isObjectKind(k)) throw new Error(`VaultBackup: ${input}.${k} is not an object kind; use ${OBJECT_KINDS.join(", ")}`);
    }
    return patterns[kind];
}

function emptyByKind<T>(make: (kind: ObjectKind) => T): Record<ObjectKind, T> {
    return Object.fromEntries(OBJECT_KINDS.map((k) => [k, make(k)])) as Record<ObjectKind, T>;
}

function collect(backups: Record<string, ObjectBackup>, pick: (b: ObjectBackup) => pulumi.Output<string>): pulumi.Output<Record<string, string>> {
    const out: Record<string, pulumi.Output<string>> = {};
    for (const [k, b] of Object.entries(backups)) out[k] = pick(b);
    return pulumi.all(out);
}

function objectsOutput(byKind: Record<ObjectKind, Record<string, ObjectBackup>>): pulumi.Output<Record<ObjectKind, Record<string, BackedUpObject>>> {
    return pulumi.all(emptyByKind((k) => {
        const out: Record<string, pulumi.Output<BackedUpObject>> = {};
        for (const [n, b] of Object.entries(byKind[k])) {
            out[n] = pulumi.all([b.location, b.sha256, b.version]).apply(([location, sha256, version]) => ({ location, sha256, version: version ?? "" }));
        }
        return pulumi.all(out);
    })) as pulumi.Output<Record<ObjectKind, Record<string, BackedUpObject>>>;
}
