/**
 * `VaultBackup`: one `SecretBackup` per secret of a vault, found by listing the vault when the
 * program runs (so a secret added to the vault gets a backup on the next `pulumi up`).
 */
import * as pulumi from "@pulumi/pulumi";
import { SecretBackup } from "./resource";
import { nameFilter } from "./secret-patterns";
import { listVaultSecrets, programCredential } from "./vault-listing";
import { apiVersionProblem, DEFAULT_API_VERSION, normalizeApiVersion, normalizeVaultUrl, vaultUrlProblem, type ApiVersion } from "./validate";

/** The inputs of a `VaultBackup`. */
export interface VaultBackupArgs {
    /**
     * The vault's base URL, e.g. `https://myvault.vault.azure.net`. A plain string: the vault is
     * listed while the program runs, so its URL must be known then.
     */
    vaultUrl: string;
    /** Name patterns to back up (`*` any run of characters, `?` one; case-insensitive). Default: every secret. */
    include?: string[];
    /** Name patterns to leave out, applied after `include`. */
    exclude?: string[];
    /** Passed to every `SecretBackup`: folder, `file://` URL or Blob Storage container URL. Default `./secret-backups`. */
    destination?: pulumi.Input<string>;
    /** Passed to every `SecretBackup`: a change in any value takes a new backup of every secret. */
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    /** Key Vault API version for listing and every backup; default `7.4`. A plain string. */
    apiVersion?: string;
    /**
     * Also back up secrets whose current version is disabled (default false: they are skipped with
     * a warning). Key Vault refuses to read a disabled secret (403 SecretDisabled); whether Backup
     * Secret accepts one is not documented, so this is the way to find out without losing it silently.
     */
    includeDisabled?: boolean;
}

/** The type token of `VaultBackup` components. */
export const VAULT_BACKUP_TYPE = "pulumi-keyvault-backup:index:VaultBackup";

interface VaultBackupData {
    backups: Record<string, SecretBackup>;
    skipped: string[];
}

/**
 * Backs up every secret of a vault (optionally filtered by `include`/`exclude`) as one child
 * `SecretBackup` each, named `<name>/<secret name>` (see `childName`) so a secret keeps its backup across runs.
 *
 * The vault is listed while the program runs, with the same credential rules as the provider
 * (`azure-native:*` config, else the environment): the identity needs the secrets `list`
 * permission as well as `backup`. A secret added to the vault gets a backup on the next
 * `pulumi up`; a secret removed from the vault (or filtered out) drops its `SecretBackup`, whose
 * deletion keeps the backup files. Secrets whose current version is disabled are skipped with a
 * warning and listed in `skipped`, unless `includeDisabled` is set. The provider paces Backup Secret calls per vault, so a
 * large vault is not throttled into failure.
 */
export class VaultBackup extends pulumi.ComponentResource<VaultBackupData> {
    /** The child backups by secret name, once the vault has been listed. */
    readonly backups: Promise<Record<string, SecretBackup>>;
    /** The names of the secrets backed up, sorted. */
    readonly secretNames: pulumi.Output<string[]>;
    /** Secrets skipped because their current version is disabled, sorted. */
    readonly skipped: pulumi.Output<string[]>;
    /** Each backed-up secret's backup location (`file://` or `https://` URL), by secret name. */
    readonly locations: pulumi.Output<Record<string, string>>;
    /** Each backed-up secret's hex SHA-256 of its backup blob, by secret name. */
    readonly hashes: pulumi.Output<Record<string, string>>;

    /** Lists the vault and declares the backups; throws naming the input when `args` are malformed. */
    constructor(name: string, args: VaultBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super(VAULT_BACKUP_TYPE, name, checkedArgs(args), opts);
        const data = this.getData();
        this.backups = data.then((d) => d.backups);
        this.secretNames = pulumi.output(data.then((d) => Object.keys(d.backups)));
        this.skipped = pulumi.output(data.then((d) => d.skipped));
        this.locations = pulumi.output(data.then((d) => collect(d.backups, (b) => b.location)));
        this.hashes = pulumi.output(data.then((d) => collect(d.backups, (b) => b.sha256)));
    }

    /** Lists the vault and creates the children; runs once, from Pulumi's component constructor. */
    protected override async initialize(args: pulumi.Inputs, _opts?: pulumi.ComponentResourceOptions, name?: string): Promise<VaultBackupData> {
        const a = args as CheckedArgs;
        const config = { get: (key: string) => pulumi.runtime.getConfig(key) };
        const listed = await listVaultSecrets(a.vaultUrl, a.apiVersion, programCredential(config));
        const filter = nameFilter(a.include, a.exclude);
        const chosen = listed.filter((s) => filter.accepts(s.name));
        const skipped = a.includeDisabled ? [] : chosen.filter((s) => !s.enabled).map((s) => s.name);
        const backups: Record<string, SecretBackup> = {};
        for (const s of chosen.filter((x) => a.includeDisabled || x.enabled)) {
            backups[s.name] = new SecretBackup(
                childName(name!, s.name),
                { vaultUrl: a.vaultUrl, secretName: s.name, destination: a.destination, triggers: a.triggers, apiVersion: a.apiVersion },
                { parent: this },
            );
        }
        this.report(a, listed.length, Object.keys(backups).length, skipped, filter.unmatchedIncludes(listed.map((s) => s.name)));
        this.registerOutputs({
            secretNames: Object.keys(backups),
            skipped,
            locations: collect(backups, (b) => b.location),
            hashes: collect(backups, (b) => b.sha256),
        });
        return { backups, skipped };
    }

    private report(a: CheckedArgs, listed: number, chosen: number, skipped: string[], unmatched: string[]): void {
        pulumi.log.info(`${a.vaultUrl}: ${listed} secrets listed, ${chosen} backed up`, this);
        if (skipped.length) {
            pulumi.log.warn(`not backed up because their current version is disabled (set includeDisabled to try them): ${skipped.join(", ")}`, this);
        }
        if (unmatched.length) pulumi.log.warn(`include patterns that match no secret in ${a.vaultUrl}: ${unmatched.join(", ")}`, this);
    }
}

/**
 * The child resource name for `secretName`: stable across runs, and unique across components
 * because `/` cannot occur in a secret name (with `-`, "a" + "b-c" and "a-b" + "c" would collide).
 */
export function childName(componentName: string, secretName: string): string {
    return `${componentName}/${secretName}`;
}

interface CheckedArgs {
    vaultUrl: string;
    include?: string[];
    exclude?: string[];
    destination?: pulumi.Input<string>;
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    apiVersion: ApiVersion;
    includeDisabled: boolean;
}

function checkedArgs(args: VaultBackupArgs): CheckedArgs {
    const urlProblem = vaultUrlProblem(args?.vaultUrl);
    if (urlProblem) throw new Error(`VaultBackup: vaultUrl: ${urlProblem}`);
    const apiVersion = args.apiVersion ?? DEFAULT_API_VERSION;
    const versionProblem = apiVersionProblem(apiVersion);
    if (versionProblem) throw new Error(`VaultBackup: apiVersion: ${versionProblem}`);
    nameFilter(args.include, args.exclude); // throws naming the bad pattern, before anything is listed
    const checked: CheckedArgs = { vaultUrl: normalizeVaultUrl(args.vaultUrl), apiVersion: normalizeApiVersion(apiVersion)!, includeDisabled: args.includeDisabled === true };
    if (args.include !== undefined) checked.include = args.include;
    if (args.exclude !== undefined) checked.exclude = args.exclude;
    if (args.destination !== undefined) checked.destination = args.destination;
    if (args.triggers !== undefined) checked.triggers = args.triggers;
    return checked;
}

function collect(backups: Record<string, SecretBackup>, pick: (b: SecretBackup) => pulumi.Output<string>): pulumi.Output<Record<string, string>> {
    const out: Record<string, pulumi.Output<string>> = {};
    for (const [k, b] of Object.entries(backups)) out[k] = pick(b);
    return pulumi.all(out);
}
