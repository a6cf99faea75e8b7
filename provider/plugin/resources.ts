/**
 * The provider plugin's own resources, for TypeScript programs (and for `VaultBackup`'s children
 * inside the plugin): `SecretBackup`, `KeyBackup` and `CertificateBackup` as custom resources of the
 * `keyvault-backup` package, served by the plugin `pulumi-resource-keyvault-backup`, and `VaultBackup`
 * as the plugin's component (the plugin lists the vault and declares the children). The inputs and
 * outputs are those of the dynamic resources of the same names; Python, Go, .NET and YAML programs
 * get the same resources from the SDKs generated from the plugin's schema.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CertificateBackupArgs, KeyBackupArgs, ObjectBackupArgs, SecretBackupArgs } from "../resource";
import { VAULT_BACKUP_TYPE, type BackedUpObject, type VaultBackupArgs } from "../vault-backup";
import { KINDS, type KindInfo, type ObjectKind } from "../kinds";
import { PACKAGE_VERSION, PLUGIN_TYPES, PLUGIN_VAULT_BACKUP_TYPE } from "./tokens";

/** The output properties every plugin backup resource has, named as in the dynamic resources' state. */
const OUTPUTS = ["sha256", "location", "sizeBytes", "backedUpAt", "requestId", "vaultUrl", "apiVersion", "destination", "triggers", "version", "versionUpdatedOn"];

/** What every plugin backup resource outputs (see the dynamic `SecretBackup` for each one's meaning). */
abstract class PluginObjectBackup extends pulumi.CustomResource {
    /** Hex SHA-256 of the backup blob; "" after a refresh found the stored blob missing or changed. */
    declare readonly sha256: pulumi.Output<string>;
    /** `file://` (or `https://`) URL of the stored blob. */
    declare readonly location: pulumi.Output<string>;
    /** Size of the blob in bytes. */
    declare readonly sizeBytes: pulumi.Output<number>;
    /** When the backup was taken, ISO 8601 UTC. */
    declare readonly backedUpAt: pulumi.Output<string>;
    /** The vault's base URL. */
    declare readonly vaultUrl: pulumi.Output<string>;
    /** The Key Vault API version used. */
    declare readonly apiVersion: pulumi.Output<string>;
    /** Key Vault's `x-ms-request-id` of the backup call. */
    declare readonly requestId: pulumi.Output<string>;
    /** The destination the backup was written to. */
    declare readonly destination: pulumi.Output<string>;
    /** The triggers input ([] when none were given). */
    declare readonly triggers: pulumi.Output<unknown[]>;
    /** The object's current version when the backup was taken ("" when not known yet). */
    declare readonly version: pulumi.Output<string>;
    /** When that version last changed, by the vault's clock ("" when unknown). */
    declare readonly versionUpdatedOn: pulumi.Output<string>;

    protected constructor(kind: KindInfo, name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        const outputs = Object.fromEntries([...OUTPUTS, kind.nameInput, kind.versionInput].map((k) => [k, undefined]));
        const inputs = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
        // The plugin's version, so the engine runs the plugin this package ships (not another one
        // installed); an alias of the dynamic resource's type, so a stack made with the dynamic
        // resource of the same name moves onto this one without a new backup.
        super(PLUGIN_TYPES[kind.kind], name, { ...outputs, ...inputs }, withDynamicAlias(kind.typeToken, opts));
    }
}

/**
 * `opts` with the plugin's version and an alias of `dynamicType` (the type the dynamic face
 * registers the same resource as) added to the caller's aliases: the engine then takes a
 * resource of that type and name from the stack as this one (same parent, stack and project), and
 * the provider's diff finds the inputs unchanged, so no backup is taken.
 */
function withDynamicAlias<T extends pulumi.ResourceOptions>(dynamicType: string, opts: T | undefined): T {
    return { version: PACKAGE_VERSION, ...opts, aliases: [{ type: dynamicType }, ...(opts?.aliases ?? [])] } as T;
}

/** The plugin's inputs of a backup resource: the dynamic resource's, without the TypeScript-only `secret`/`key` objects. */
type PluginArgs<T extends ObjectBackupArgs> = Omit<T, "secret" | "key">;

/** Backs up one Key Vault secret (every version) through the provider plugin; the dynamic `SecretBackup`'s inputs, outputs and guarantees. */
export class SecretBackup extends PluginObjectBackup {
    /** The secret's name. */
    declare readonly secretName: pulumi.Output<string>;
    /** The secret version input ("" when none was given). */
    declare readonly secretVersion: pulumi.Output<string>;

    /** Declares a backup of the secret `args` names. */
    constructor(name: string, args: PluginArgs<SecretBackupArgs>, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.secret, name, args as Record<string, unknown>, opts);
    }
}

/** Backs up one Key Vault key (every version) through the provider plugin; the dynamic `KeyBackup`'s inputs, outputs and guarantees. */
export class KeyBackup extends PluginObjectBackup {
    /** The key's name. */
    declare readonly keyName: pulumi.Output<string>;
    /** The key version input ("" when none was given). */
    declare readonly keyVersion: pulumi.Output<string>;

    /** Declares a backup of the key `args` names. */
    constructor(name: string, args: PluginArgs<KeyBackupArgs>, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.key, name, args as Record<string, unknown>, opts);
    }
}

/** Backs up one Key Vault certificate (every version, with its key and secret) through the provider plugin. */
export class CertificateBackup extends PluginObjectBackup {
    /** The certificate's name. */
    declare readonly certificateName: pulumi.Output<string>;
    /** The certificate version input ("" when none was given). */
    declare readonly certificateVersion: pulumi.Output<string>;

    /** Declares a backup of the certificate `args` names. */
    constructor(name: string, args: CertificateBackupArgs, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.certificate, name, args as Record<string, unknown>, opts);
    }
}

/** Any of the plugin's backup resources. */
export type { PluginObjectBackup };

const CLASSES: Record<ObjectKind, new (name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) => PluginObjectBackup> = {
    secret: SecretBackup, key: KeyBackup, certificate: CertificateBackup,
};

/** The plugin backup resource of `kind` named `resourceName` for the object `objectName`, with `args`. */
export function newPluginBackup(kind: KindInfo, resourceName: string, objectName: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions): PluginObjectBackup {
    return new CLASSES[kind.kind](resourceName, { ...args, [kind.nameInput]: objectName }, opts);
}

/**
 * Backs up every secret, key and certificate of a vault through the provider plugin: the plugin
 * lists the vault and declares one plugin backup resource per object (the dynamic `VaultBackup`'s
 * inputs, children names and outputs). Credentials for the listing come from `keyvault-backup:*`
 * config or the environment, as for the plugin's backups.
 */
export class VaultBackup extends pulumi.ComponentResource {
    /** The names of the secrets backed up, sorted. */
    declare readonly secretNames: pulumi.Output<string[]>;
    /** Secrets skipped because their current version is disabled, sorted. */
    declare readonly skipped: pulumi.Output<string[]>;
    /** Objects skipped because their current version is disabled, by kind, sorted. */
    declare readonly skippedByKind: pulumi.Output<Record<ObjectKind, string[]>>;
    /** Each backed-up secret's backup location, by secret name. */
    declare readonly locations: pulumi.Output<Record<string, string>>;
    /** Each backed-up secret's hex SHA-256 of its backup blob, by secret name. */
    declare readonly hashes: pulumi.Output<Record<string, string>>;
    /** Per kind and object name: the newest backup's location and sha256, and the version it holds. */
    declare readonly objects: pulumi.Output<Record<ObjectKind, Record<string, BackedUpObject>>>;

    /** Declares the component; the plugin lists the vault (`args.vaultUrl` must be known when the program runs). */
    constructor(name: string, args: VaultBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        const outputs = { secretNames: undefined, skipped: undefined, skippedByKind: undefined, locations: undefined, hashes: undefined, objects: undefined };
        const inputs = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
        super(PLUGIN_VAULT_BACKUP_TYPE, name, { ...outputs, ...inputs }, withDynamicAlias(VAULT_BACKUP_TYPE, opts), true);
    }
}
