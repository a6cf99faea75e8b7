/**
 * `SecretBackup`, `KeyBackup` and `CertificateBackup`: the Pulumi resources that back up one Key
 * Vault object (all its versions) to a folder or Blob Storage and keep the blob's hash, location
 * and the version it holds as state. One provider serves all three (see `kinds.ts`).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { makeProvider } from "./provider";
import { KINDS, type KindInfo } from "./kinds";

/** Anything shaped like `@pulumi/azure-native`'s `keyvault.Secret` (only its properties are read). */
export interface KeyVaultSecretLike {
    properties: pulumi.Input<{ secretUriWithVersion: string }>;
}

/** Anything shaped like `@pulumi/azure-native`'s `keyvault.Key` (only its properties are read). */
export interface KeyVaultKeyLike {
    properties: pulumi.Input<{ keyUriWithVersion: string }>;
}

/** The inputs every backup resource shares (beside its object's name and version). */
export interface ObjectBackupArgs {
    /** The vault's base URL, e.g. `https://myvault.vault.azure.net` (https; loopback allowed for the emulator). */
    vaultUrl?: pulumi.Input<string>;
    /** A folder (relative to the Pulumi project) or `file://` URL, or a Blob Storage container URL. Default `./secret-backups`. */
    destination?: pulumi.Input<string>;
    /** Any values; a change in any of them takes a new backup. */
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    /** Key Vault REST API version for the call; default `7.4`. */
    apiVersion?: pulumi.Input<string>;
    /**
     * When the object last changed in the vault (ISO 8601 UTC, its listing's `updated`), as
     * `VaultBackup` passes it: a time after the version the backup holds takes a new backup. Not
     * compared with its earlier value, so adding it to an existing resource takes no backup. Given,
     * the backup does not list the object's versions first (one vault call instead of two):
     * `versionUpdatedOn` is this time and `version` stays "" until a refresh fills it in.
     */
    sourceUpdatedOn?: pulumi.Input<string>;
}

/** The inputs of a `SecretBackup`. */
export interface SecretBackupArgs extends ObjectBackupArgs {
    /** The secret's name (`^[0-9a-zA-Z-]{1,127}$`). Required unless `secret` is given. */
    secretName?: pulumi.Input<string>;
    /**
     * An `@pulumi/azure-native` `keyvault.Secret` to back up instead of `vaultUrl`/`secretName`:
     * its vault, name and current version are taken from its outputs, so a new version takes a new backup.
     */
    secret?: KeyVaultSecretLike;
    /** The secret's current version; a change takes a new backup (the backup always holds every version). */
    secretVersion?: pulumi.Input<string>;
}

/** The inputs of a `KeyBackup`. */
export interface KeyBackupArgs extends ObjectBackupArgs {
    /** The key's name (`^[0-9a-zA-Z-]{1,127}$`). Required unless `key` is given. */
    keyName?: pulumi.Input<string>;
    /** An `@pulumi/azure-native` `keyvault.Key` to back up instead of `vaultUrl`/`keyName`: vault, name and version come from its `keyUriWithVersion`. */
    key?: KeyVaultKeyLike;
    /** The key's current version; a change takes a new backup (the backup always holds every version). */
    keyVersion?: pulumi.Input<string>;
}

/** The inputs of a `CertificateBackup`. */
export interface CertificateBackupArgs extends ObjectBackupArgs {
    /** The certificate's name (`^[0-9a-zA-Z-]{1,127}$`). */
    certificateName?: pulumi.Input<string>;
    /** The certificate's current version; a change takes a new backup (the backup always holds every version, with its key and secret). */
    certificateVersion?: pulumi.Input<string>;
}

/** The type token of `SecretBackup` resources. */
export const SECRET_BACKUP_TYPE = KINDS.secret.typeToken;
/** The type token of `KeyBackup` resources. */
export const KEY_BACKUP_TYPE = KINDS.key.typeToken;
/** The type token of `CertificateBackup` resources. */
export const CERTIFICATE_BACKUP_TYPE = KINDS.certificate.typeToken;

/**
 * What every backup resource outputs (its state), in both faces (these dynamic resources and the
 * provider plugin's); each kind's name and version are in its own interface below. The plugin's
 * schema is generated from these interfaces.
 */
export interface ObjectBackupOutputs {
    /** Hex SHA-256 of the backup blob; "" after a refresh found the stored blob missing or changed. */
    readonly sha256: pulumi.Output<string>;
    /** `file://` (or `https://`) URL of the stored blob. */
    readonly location: pulumi.Output<string>;
    /** Size of the blob in bytes. */
    readonly sizeBytes: pulumi.Output<number>;
    /** When the backup was taken, ISO 8601 UTC. */
    readonly backedUpAt: pulumi.Output<string>;
    /** The vault's base URL. */
    readonly vaultUrl: pulumi.Output<string>;
    /** The Key Vault API version used. */
    readonly apiVersion: pulumi.Output<string>;
    /** Key Vault's `x-ms-request-id` of the backup call. */
    readonly requestId: pulumi.Output<string>;
    /** The destination the backup was written to. */
    readonly destination: pulumi.Output<string>;
    /** The triggers input ([] when none were given). */
    readonly triggers: pulumi.Output<unknown[]>;
    /** The object's current version when the backup was taken ("" if it could not be read, in state from before versions were recorded, and for a backup taken with `sourceUpdatedOn` until a refresh). */
    readonly version: pulumi.Output<string>;
    /** When that version last changed, by the vault's clock ("" when unknown). */
    readonly versionUpdatedOn: pulumi.Output<string>;
}

/** What a `SecretBackup` outputs. */
export interface SecretBackupOutputs extends ObjectBackupOutputs {
    /** The secret's name. */
    readonly secretName: pulumi.Output<string>;
    /** The secret version input ("" when none was given). */
    readonly secretVersion: pulumi.Output<string>;
}

/** What a `KeyBackup` outputs. */
export interface KeyBackupOutputs extends ObjectBackupOutputs {
    /** The key's name. */
    readonly keyName: pulumi.Output<string>;
    /** The key version input ("" when none was given). */
    readonly keyVersion: pulumi.Output<string>;
}

/** What a `CertificateBackup` outputs. */
export interface CertificateBackupOutputs extends ObjectBackupOutputs {
    /** The certificate's name. */
    readonly certificateName: pulumi.Output<string>;
    /** The certificate version input ("" when none was given). */
    readonly certificateVersion: pulumi.Output<string>;
}

/**
 * The properties a backup resource of `kind` registers: every output (the common ones and the
 * kind's name and version) as undefined, so Pulumi resolves it from state, then `inputs` without
 * their undefined values.
 */
export function registeredProperties(kind: KindInfo, inputs: Record<string, unknown>): Record<string, unknown> {
    const outputs = Object.fromEntries([...OUTPUTS, kind.nameInput, kind.versionInput].map((k) => [k, undefined]));
    return { ...outputs, ...Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) };
}

/**
 * Runs `register` (a resource's registration) without the stack traces `@pulumi/pulumi` formats
 * (source-mapped) for each of the ~70 promises it makes per resource, kept only for its
 * promise-leak report: half the program's CPU for a VaultBackup of 1,000 objects. They are kept
 * when that report was asked for (PULUMI_DEBUG_PROMISE_LEAKS). The resource's source position and
 * the stack trace the engine gets are unchanged: Pulumi takes them with its own limit. Returns a
 * function that puts the limit back, to call once the registration is made.
 */
export function quietPromiseStacks(): () => void {
    const limit = Error.stackTraceLimit;
    if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) Error.stackTraceLimit = 0;
    return () => {
        Error.stackTraceLimit = limit;
    };
}

/** A dynamic backup resource; its outputs are `ObjectBackupOutputs` (merged in below). */
abstract class ObjectBackup extends pulumi.dynamic.Resource {
    protected constructor(kind: KindInfo, name: string, inputs: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        const restore = quietPromiseStacks();
        try {
            super(providerFor(operationsModuleId()), name, registeredProperties(kind, inputs), opts, "keyvault", kind.resourceName);
        } finally {
            restore();
        }
    }
}
interface ObjectBackup extends ObjectBackupOutputs {}

/** Backs up one Key Vault secret with Backup Secret; see the README for behaviour and errors. */
export class SecretBackup extends ObjectBackup {
    /** Declares a backup of the secret `args` names; throws when both `secret` and `vaultUrl`/`secretName`/`secretVersion` are given. */
    constructor(name: string, args: SecretBackupArgs, opts?: pulumi.CustomResourceOptions) {
        const { secret, ...rest } = args;
        super(KINDS.secret, name, resourceInputs(KINDS.secret, rest, secret && "secret", secret?.properties), opts);
    }
}
/** A `SecretBackup`'s outputs (its state). */
export interface SecretBackup extends SecretBackupOutputs {}

/** Backs up one Key Vault key (every version) with Backup Key; the same guarantees as `SecretBackup`. */
export class KeyBackup extends ObjectBackup {
    /** Declares a backup of the key `args` names; throws when both `key` and `vaultUrl`/`keyName`/`keyVersion` are given. */
    constructor(name: string, args: KeyBackupArgs, opts?: pulumi.CustomResourceOptions) {
        const { key, ...rest } = args;
        super(KINDS.key, name, resourceInputs(KINDS.key, rest, key && "key", key?.properties), opts);
    }
}
/** A `KeyBackup`'s outputs (its state). */
export interface KeyBackup extends KeyBackupOutputs {}

/** Backs up one Key Vault certificate (every version, with its key and secret) with Backup Certificate; the same guarantees as `SecretBackup`. */
export class CertificateBackup extends ObjectBackup {
    /** Declares a backup of the certificate `args` names. */
    constructor(name: string, args: CertificateBackupArgs, opts?: pulumi.CustomResourceOptions) {
        super(KINDS.certificate, name, resourceInputs(KINDS.certificate, args as Record<string, unknown>), opts);
    }
}
/** A `CertificateBackup`'s outputs (its state). */
export interface CertificateBackup extends CertificateBackupOutputs {}

// The outputs of `ObjectBackupOutputs`, by name (registered as undefined; see `registeredProperties`).
const OUTPUTS = ["sha256", "location", "sizeBytes", "backedUpAt", "requestId", "vaultUrl", "apiVersion", "destination", "triggers", "version", "versionUpdatedOn"];

/**
 * The registered inputs: `args` without undefined values; with an azure-native resource (`argName`
 * and its `properties`), its versioned URI fills vault URL, name and version.
 */
function resourceInputs(kind: KindInfo, args: object, argName?: string, properties?: pulumi.Input<Record<string, string>>): Record<string, unknown> {
    const inputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(args)) if (v !== undefined) inputs[k] = v;
    if (!argName || !properties) return inputs;
    for (const k of ["vaultUrl", kind.nameInput, kind.versionInput]) {
        if (k in inputs) throw new Error(`${kind.resourceName}: pass either "${argName}" or "${k}", not both (the ${kind.noun}'s outputs provide it)`);
    }
    const parts = pulumi.output(properties).apply((p) => parseObjectUri(p[kind.azureNativeUri], kind));
    return { ...inputs, vaultUrl: parts.vaultUrl, [kind.nameInput]: parts.name, [kind.versionInput]: parts.version };
}

/**
 * Splits a versioned object URI (`https://v.vault.azure.net/keys/name/version`) into vault URL,
 * name and version; throws naming the URI when it is not a `kind` URI.
 */
function parseObjectUri(uri: string, kind: KindInfo): { vaultUrl: string; name: string; version: string } {
    const url = new URL(uri);
    const [segment, name, version, ...extra] = url.pathname.split("/").filter(Boolean);
    if (segment !== kind.plural || !name || extra.length) {
        throw new Error(`${kind.resourceName}: "${uri}" is not a Key Vault ${kind.noun} URI (https://<vault>/${kind.plural}/<name>/<version>)`);
    }
    return { vaultUrl: url.origin, name, version: version ?? "" };
}

/**
 * Splits a versioned secret URI (`https://v.vault.azure.net/secrets/name/version`) into vault URL,
 * name and version; throws naming the URI when it has another shape.
 */
export function parseSecretUri(uri: string): { vaultUrl: string; secretName: string; secretVersion: string } {
    const { vaultUrl, name, version } = parseObjectUri(uri, KINDS.secret);
    return { vaultUrl, secretName: name, secretVersion: version };
}

/**
 * The module id the provider host `require`s for `operations`: the package path when this file
 * runs from inside node_modules, else a path relative to `cwd` (the Pulumi project root, which is
 * the host's working directory).
 */
export function operationsModuleId(dir: string = __dirname, cwd: string = process.cwd()): string {
    const parts = dir.split(path.sep);
    const at = parts.lastIndexOf("node_modules");
    // The package's own name and path below node_modules, scoped or not: resolvable from the project.
    if (at >= 0) return [...parts.slice(at + 1), "operations"].join("/");
    const relative = path.relative(cwd, path.join(dir, "operations")).split(path.sep).join("/");
    return relative.startsWith(".") ? relative : `./${relative}`;
}

// Installed under node_modules (the module id is a package path): this package's `dynamic` module
// itself, which Pulumi serializes as a require of it (a few hundred bytes of __provider). From a
// checkout (a relative id), Pulumi would serialize that module's code by value, so the provider is
// then a thin closure holding the id (see provider.ts). One object per id either way: Pulumi caches
// the serialized text per object, so every backup resource in a program shares one serialization.
const providers = new Map<string, dynamic.ResourceProvider>();
function providerFor(moduleId: string): dynamic.ResourceProvider {
    if (!moduleId.startsWith(".")) return require("./dynamic") as dynamic.ResourceProvider;
    let provider = providers.get(moduleId);
    if (!provider) {
        provider = makeProvider(moduleId);
        providers.set(moduleId, provider);
    }
    return provider;
}

/** Any of the backup resources (`SecretBackup`, `KeyBackup`, `CertificateBackup`). */
export type { ObjectBackup };

// The class of each kind; `kinds.ts` names them, this maps the names to the classes.
const BACKUP_CLASSES: Record<string, new (name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) => ObjectBackup> = {
    SecretBackup, KeyBackup, CertificateBackup,
};

/**
 * A backup resource of `kind` named `resourceName` for the object `objectName`: a `SecretBackup`,
 * `KeyBackup` or `CertificateBackup` with `args` and the kind's name input set.
 */
export function newObjectBackup(kind: KindInfo, resourceName: string, objectName: string, args: ObjectBackupArgs, opts?: pulumi.CustomResourceOptions): ObjectBackup {
    const Class = BACKUP_CLASSES[kind.resourceName];
    return new Class(resourceName, { ...args, [kind.nameInput]: objectName }, opts);
}
