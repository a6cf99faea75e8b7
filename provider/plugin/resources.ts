/**
 * The provider plugin's own resources, for TypeScript programs (and for `VaultBackup`'s children
 * inside the plugin): `SecretBackup`, `KeyBackup` and `CertificateBackup` as custom resources of the
 * `keyvault-backup` package, served by the plugin `pulumi-resource-keyvault-backup`, and `VaultBackup`
 * as the plugin's component (the plugin lists the vault and declares the children). The inputs and
 * outputs are those of the dynamic resources of the same names; Python, Go, .NET and YAML programs
 * get the same resources from the SDKs generated from the plugin's schema.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    quietPromiseStacks, registeredProperties,
    type CertificateBackupArgs, type CertificateBackupOutputs, type KeyBackupArgs, type KeyBackupOutputs,
    type ObjectBackupArgs, type ObjectBackupOutputs, type SecretBackupArgs, type SecretBackupOutputs,
} from "../resource";
import { VAULT_BACKUP_OUTPUTS, VAULT_BACKUP_TYPE, type VaultBackup as DynamicVaultBackup, type VaultBackupArgs } from "../vault-backup";
import { KINDS, type KindInfo, type ObjectKind } from "../kinds";
import { PACKAGE_VERSION, PLUGIN_TYPES, PLUGIN_VAULT_BACKUP_TYPE } from "./tokens";

/** A plugin backup resource; its outputs are the dynamic face's `ObjectBackupOutputs` (merged in below). */
abstract class PluginObjectBackup extends pulumi.CustomResource {
    protected constructor(kind: KindInfo, name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        // The plugin's version, so the engine runs the plugin this package ships (not another one
        // installed); an alias of the dynamic resource's type, so a stack made with the dynamic
        // resource of the same name moves onto this one without a new backup.
        const restore = quietPromiseStacks();
        try {
            super(PLUGIN_TYPES[kind.kind], name, registeredProperties(kind, args), withDynamicAlias(kind.typeToken, opts));
        } finally {
            restore();
        }
    }
}
interface PluginObjectBackup extends ObjectBackupOutputs {}

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
    /** Declares a backup of the secret `args` names. */
    constructor(name: string, args: PluginArgs<SecretBackupArgs>, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.secret, name, args as Record<string, unknown>, opts);
    }
}
/** A plugin `SecretBackup`'s outputs: the dynamic one's. */
export interface SecretBackup extends SecretBackupOutputs {}

/** Backs up one Key Vault key (every version) through the provider plugin; the dynamic `KeyBackup`'s inputs, outputs and guarantees. */
export class KeyBackup extends PluginObjectBackup {
    /** Declares a backup of the key `args` names. */
    constructor(name: string, args: PluginArgs<KeyBackupArgs>, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.key, name, args as Record<string, unknown>, opts);
    }
}
/** A plugin `KeyBackup`'s outputs: the dynamic one's. */
export interface KeyBackup extends KeyBackupOutputs {}

/** Backs up one Key Vault certificate (every version, with its key and secret) through the provider plugin. */
export class CertificateBackup extends PluginObjectBackup {
    /** Declares a backup of the certificate `args` names. */
    constructor(name: string, args: CertificateBackupArgs, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.certificate, name, args as Record<string, unknown>, opts);
    }
}
/** A plugin `CertificateBackup`'s outputs: the dynamic one's. */
export interface CertificateBackup extends CertificateBackupOutputs {}

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
    /** Declares the component; the plugin lists the vault (`args.vaultUrl` must be known when the program runs). */
    constructor(name: string, args: VaultBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        const outputs = Object.fromEntries(VAULT_BACKUP_OUTPUTS.map((k) => [k, undefined]));
        const inputs = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
        super(PLUGIN_VAULT_BACKUP_TYPE, name, { ...outputs, ...inputs }, withDynamicAlias(VAULT_BACKUP_TYPE, opts), true);
    }
}
/** The plugin `VaultBackup`'s outputs: the dynamic one's (`VAULT_BACKUP_OUTPUTS`). */
export interface VaultBackup extends Pick<DynamicVaultBackup, (typeof VAULT_BACKUP_OUTPUTS)[number]> {}
