/**
 * `SecretBackup`: the Pulumi resource that backs up one Key Vault secret (all its versions) to a
 * folder or Blob Storage and keeps the blob's hash and location as state.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { makeProvider } from "./provider";

/** Anything shaped like `@pulumi/azure-native`'s `keyvault.Secret` (only its properties are read). */
export interface KeyVaultSecretLike {
    properties: pulumi.Input<{ secretUriWithVersion: string }>;
}

/** The inputs of a `SecretBackup`. */
export interface SecretBackupArgs {
    /** The vault's base URL, e.g. `https://myvault.vault.azure.net` (https; loopback allowed for the emulator). Required unless `secret` is given. */
    vaultUrl?: pulumi.Input<string>;
    /** The secret's name (`^[0-9a-zA-Z-]{1,127}$`). Required unless `secret` is given. */
    secretName?: pulumi.Input<string>;
    /**
     * An `@pulumi/azure-native` `keyvault.Secret` to back up instead of `vaultUrl`/`secretName`:
     * its vault, name and current version are taken from its outputs, so a new version takes a new backup.
     */
    secret?: KeyVaultSecretLike;
    /** A folder (relative to the Pulumi project) or `file://` URL, or a Blob Storage container URL. Default `./secret-backups`. */
    destination?: pulumi.Input<string>;
    /** The secret's current version; a change takes a new backup (the backup always holds every version). */
    secretVersion?: pulumi.Input<string>;
    /** Any values; a change in any of them takes a new backup. */
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    /** Key Vault REST API version for the call; default `7.4`. */
    apiVersion?: pulumi.Input<string>;
}

/** The type token of `SecretBackup` resources. */
export const SECRET_BACKUP_TYPE = "pulumi-nodejs:dynamic/keyvault:SecretBackup";

/** Backs up one Key Vault secret with Backup Secret; see the README for behaviour and errors. */
export class SecretBackup extends pulumi.dynamic.Resource {
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
    /** The secret's name. */
    declare readonly secretName: pulumi.Output<string>;
    /** The Key Vault API version used. */
    declare readonly apiVersion: pulumi.Output<string>;
    /** Key Vault's `x-ms-request-id` of the backup call. */
    declare readonly requestId: pulumi.Output<string>;
    /** The destination the backup was written to. */
    declare readonly destination: pulumi.Output<string>;
    /** The secret version input ("" when none was given). */
    declare readonly secretVersion: pulumi.Output<string>;
    /** The triggers input ([] when none were given). */
    declare readonly triggers: pulumi.Output<unknown[]>;

    /** Declares a backup of the secret `args` names; throws when both `secret` and `vaultUrl`/`secretName`/`secretVersion` are given. */
    constructor(name: string, args: SecretBackupArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerFor(operationsModuleId()), name, { ...OUTPUTS, ...resourceInputs(args) }, opts, "keyvault", "SecretBackup");
    }
}

// Output-only keys, registered as undefined so Pulumi resolves them from state; inputs override.
const OUTPUTS = {
    sha256: undefined, location: undefined, sizeBytes: undefined, backedUpAt: undefined, requestId: undefined,
    vaultUrl: undefined, secretName: undefined, apiVersion: undefined, destination: undefined, secretVersion: undefined, triggers: undefined,
};

function resourceInputs(args: SecretBackupArgs): Record<string, unknown> {
    const { secret, ...rest } = args;
    const inputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) inputs[k] = v;
    if (!secret) return inputs;
    for (const k of ["vaultUrl", "secretName", "secretVersion"]) {
        if (k in inputs) throw new Error(`SecretBackup: pass either "secret" or "${k}", not both (the secret's outputs provide it)`);
    }
    const parts = pulumi.output(secret.properties).apply((p) => parseSecretUri(p.secretUriWithVersion));
    return { ...inputs, vaultUrl: parts.vaultUrl, secretName: parts.secretName, secretVersion: parts.secretVersion };
}

/**
 * Splits a versioned secret URI (`https://v.vault.azure.net/secrets/name/version`) into vault URL,
 * name and version; throws naming the URI when it has another shape.
 */
export function parseSecretUri(uri: string): { vaultUrl: string; secretName: string; secretVersion: string } {
    const url = new URL(uri);
    const [kind, secretName, secretVersion, ...extra] = url.pathname.split("/").filter(Boolean);
    if (kind !== "secrets" || !secretName || extra.length) {
        throw new Error(`SecretBackup: "${uri}" is not a Key Vault secret URI (https://<vault>/secrets/<name>/<version>)`);
    }
    return { vaultUrl: url.origin, secretName, secretVersion: secretVersion ?? "" };
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

// One provider object per module id: Pulumi caches the serialized text per object, so every
// SecretBackup in a program shares one serialization.
const providers = new Map<string, dynamic.ResourceProvider>();
function providerFor(moduleId: string): dynamic.ResourceProvider {
    let provider = providers.get(moduleId);
    if (!provider) {
        provider = makeProvider(moduleId);
        providers.set(moduleId, provider);
    }
    return provider;
}
