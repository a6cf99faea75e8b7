/**
 * The kinds of Key Vault object this package backs up, as data: one row per kind (secret, key,
 * certificate) with everything that differs between them — the Azure SDK client and its backup,
 * restore and listing calls, the backup blob's tag, the permission and RBAC data-action names,
 * the resource class and its input names, and the words used in messages. The provider, the
 * vault client, `VaultBackup`, verify and restore all take a row and never branch on the kind
 * themselves, so a fourth kind is a fourth row.
 *
 * Loading this module loads no Azure SDK: each row's `client` requires its `sdk.module` when first called.
 */
import type { TokenCredential } from "@azure/identity";
import type { ObjectKind } from "./destinations/destination";

export type { ObjectKind } from "./destinations/destination";
export { OBJECT_KINDS } from "./destinations/destination";

/** What a listing (of the vault, or of one object's versions) says about one object or version. Never a value. */
export interface ObjectProperties {
    /** The object's name. */
    name: string;
    /** The version, when the listing names one (version listings do; vault listings of secrets do not). */
    version?: string;
    /** False when this (current) version is disabled. */
    enabled: boolean;
    /** True for the key and secret Key Vault keeps for a certificate: the certificate is their unit of backup. */
    managed: boolean;
    createdOn?: Date;
    /** Moves with every new version (and attribute change) of the object. */
    updatedOn?: Date;
}

/** A response as the SDK's `onResponse` hands it over (only what this package reads). */
export interface RawResponse {
    status: number;
    bodyAsText?: string | null;
    headers: { get(name: string): string | undefined };
}

/** Options every call of a `KindClient` takes, passed to the SDK as they are. */
export interface KindCallOptions {
    requestOptions?: { timeout?: number };
    abortSignal?: AbortSignal;
    onResponse?: (response: RawResponse) => void;
}

/** The calls this package makes for one kind, over that kind's SDK client. */
export interface KindClient {
    /** Backup Secret / Key / Certificate: the decoded blob (every version), or undefined when the answer had none. */
    backup(name: string, options?: KindCallOptions): Promise<Uint8Array | undefined>;
    /** Restore ... : the restored object's name and current version's id. Never overwrites (409 when the name is taken). */
    restore(blob: Uint8Array, options?: KindCallOptions): Promise<{ name: string; id: string }>;
    /** Every object of this kind in the vault (not the deleted ones). */
    list(options?: KindCallOptions): AsyncIterable<ObjectProperties>;
    /** Every version of one object. */
    listVersions(name: string, options?: KindCallOptions): AsyncIterable<ObjectProperties>;
    /** The names of the soft-deleted objects of this kind (List Deleted ...; needs `list`): a restore into one of them fails with 409. */
    listDeletedNames(options?: KindCallOptions): AsyncIterable<string>;
}

/** How a `KindClient` is built; passed to the SDK client's constructor. */
export interface KindClientOptions {
    /** Key Vault REST API version, e.g. `7.4`. */
    serviceVersion: string;
    /** True only for a loopback vault (the emulator), see `relaxChallengeVerification`. */
    disableChallengeResourceVerification: boolean;
    retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

/** One kind of Key Vault object: everything that differs between kinds. */
export interface KindInfo {
    kind: ObjectKind;
    /** The word in messages: `secret`, `key`, `certificate`. */
    noun: string;
    /** The access-policy permission group and REST path segment: `secrets`, `keys`, `certificates`. */
    plural: string;
    /** As in Key Vault's operation names: `Backup Secret`, `Restore Key`. */
    title: string;
    /** The resource class backing up one object, e.g. `SecretBackup`. */
    resourceName: string;
    /** Its Pulumi type token. */
    typeToken: string;
    /** The input (and state) property naming the object, e.g. `secretName`. */
    nameInput: string;
    /** The optional input pinning the version a backup must follow, e.g. `secretVersion`. */
    versionInput: string;
    /** The property of `@pulumi/azure-native`'s resource holding the versioned URI, e.g. `secretUriWithVersion`. */
    azureNativeUri: string;
    /** The ASCII tag after the length byte of a backup blob (keys and certificates share one). */
    blobTag: string;
    /** The Key Vault error code for a missing object, e.g. `SecretNotFound`: a 404 without it did not come from the vault (see `errors.ts`). */
    notFoundCode: string;
    /** The inner error code Key Vault gives when a certificate's managed object is refused, if this kind has them (read by `isManagedRefusal`). */
    managedInnerCode?: string;
    /** RBAC data actions of the calls this package makes. */
    dataActions: { backup: string; restore: string; list: string };
    /** A built-in RBAC role that holds `dataActions`. */
    rbacRole: string;
    /** The Azure CLI command group, e.g. `az keyvault secret`. */
    cli: string;
    /** The kind's Azure SDK package, client class and the methods that make each call. */
    sdk: KindSdk;
    /** The SDK client for `vaultUrl`, adapted to `KindClient`; loads the SDK on first use. */
    client(vaultUrl: string, credential: TokenCredential, options: KindClientOptions): KindClient;
}

/** Where a kind's SDK client is, and which of its methods makes each call `KindClient` offers. */
export interface KindSdk {
    /** The npm package, e.g. `@azure/keyvault-secrets`. */
    module: string;
    /** Its client class, e.g. `SecretClient`. */
    clientClass: string;
    backup: string;
    restore: string;
    list: string;
    listVersions: string;
    listDeleted: string;
}

const SECRET_TAG = "AzureKeyVaultSecretBackupV1.microsoft.com";
// Key and certificate backups carry the same tag (keys-certificates-behaviour.md, "The backup blobs").
const KEY_TAG = "AzureKeyVaultKeyBackupV1.microsoft.com";
const TYPE_PREFIX = "pulumi-nodejs:dynamic/keyvault:";

/** Reads one SDK properties object into `ObjectProperties`. */
function props(p: { name?: string; version?: string; enabled?: boolean; managed?: boolean; createdOn?: Date; updatedOn?: Date }): ObjectProperties {
    const out: ObjectProperties = { name: p.name ?? "", enabled: p.enabled !== false, managed: p.managed === true };
    if (p.version) out.version = p.version;
    if (p.createdOn) out.createdOn = p.createdOn;
    if (p.updatedOn) out.updatedOn = p.updatedOn;
    return out;
}

async function* namesOf<T extends { name?: string }>(items: AsyncIterable<T>): AsyncIterable<string> {
    for await (const item of items) if (item.name) yield item.name;
}

async function* mapped<T>(items: AsyncIterable<T>, f: (item: T) => ObjectProperties): AsyncIterable<ObjectProperties> {
    for await (const item of items) yield f(item);
}

type SdkMethod = (...args: unknown[]) => unknown;

/** The kind's SDK client for `vaultUrl` (its package loaded now), adapted to `KindClient` by the method names in `sdk`. */
function sdkClient(sdk: KindSdk, vaultUrl: string, credential: TokenCredential, options: KindClientOptions): KindClient {
    const Client = (require(sdk.module) as Record<string, new (...args: unknown[]) => Record<string, SdkMethod>>)[sdk.clientClass];
    const c = new Client(vaultUrl, credential, options);
    const call = <T>(method: string, ...args: unknown[]): T => c[method](...args) as T;
    type Listed = AsyncIterable<Parameters<typeof props>[0]>;
    return {
        backup: (name, o) => call(sdk.backup, name, o),
        restore: async (blob, o) => {
            const r = await call<Promise<{ name?: string; id?: string; properties?: { id?: string } }>>(sdk.restore, blob, o);
            // The certificates SDK sets the id only in properties (KeyVaultCertificate.id stays undefined).
            return { name: r.name ?? "", id: r.id ?? r.properties?.id ?? "" };
        },
        list: (o) => mapped(call<Listed>(sdk.list, o), props),
        listVersions: (name, o) => mapped(call<Listed>(sdk.listVersions, name, o), props),
        listDeletedNames: (o) => namesOf(call<AsyncIterable<{ name?: string }>>(sdk.listDeleted, o)),
    };
}

/** A row of the table with its `typeToken` derived from its resource name and its `client` built from its `sdk`. */
function row(info: Omit<KindInfo, "client" | "typeToken">): KindInfo {
    return {
        ...info,
        typeToken: `${TYPE_PREFIX}${info.resourceName}`,
        client: (vaultUrl, credential, options) => sdkClient(info.sdk, vaultUrl, credential, options),
    };
}

/** The table: one row per kind. */
export const KINDS: Readonly<Record<ObjectKind, KindInfo>> = {
    secret: row({
        kind: "secret",
        noun: "secret",
        plural: "secrets",
        title: "Secret",
        resourceName: "SecretBackup",
        nameInput: "secretName",
        versionInput: "secretVersion",
        azureNativeUri: "secretUriWithVersion",
        blobTag: SECRET_TAG,
        notFoundCode: "SecretNotFound",
        managedInnerCode: "SecretManagedByKeyVault",
        dataActions: {
            backup: "Microsoft.KeyVault/vaults/secrets/backup/action",
            restore: "Microsoft.KeyVault/vaults/secrets/restore/action",
            list: "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        },
        rbacRole: "Key Vault Secrets Officer",
        cli: "az keyvault secret",
        sdk: {
            module: "@azure/keyvault-secrets", clientClass: "SecretClient", backup: "backupSecret", restore: "restoreSecretBackup",
            list: "listPropertiesOfSecrets", listVersions: "listPropertiesOfSecretVersions", listDeleted: "listDeletedSecrets",
        },
    }),
    key: row({
        kind: "key",
        noun: "key",
        plural: "keys",
        title: "Key",
        resourceName: "KeyBackup",
        nameInput: "keyName",
        versionInput: "keyVersion",
        azureNativeUri: "keyUriWithVersion",
        blobTag: KEY_TAG,
        notFoundCode: "KeyNotFound",
        managedInnerCode: "KeyManagedByKeyVault",
        dataActions: {
            backup: "Microsoft.KeyVault/vaults/keys/backup/action",
            restore: "Microsoft.KeyVault/vaults/keys/restore/action",
            list: "Microsoft.KeyVault/vaults/keys/read",
        },
        rbacRole: "Key Vault Crypto Officer",
        cli: "az keyvault key",
        sdk: {
            module: "@azure/keyvault-keys", clientClass: "KeyClient", backup: "backupKey", restore: "restoreKeyBackup",
            list: "listPropertiesOfKeys", listVersions: "listPropertiesOfKeyVersions", listDeleted: "listDeletedKeys",
        },
    }),
    certificate: row({
        kind: "certificate",
        noun: "certificate",
        plural: "certificates",
        title: "Certificate",
        resourceName: "CertificateBackup",
        nameInput: "certificateName",
        versionInput: "certificateVersion",
        azureNativeUri: "certificateUriWithVersion",
        blobTag: KEY_TAG,
        notFoundCode: "CertificateNotFound",
        dataActions: {
            backup: "Microsoft.KeyVault/vaults/certificates/backup/action",
            restore: "Microsoft.KeyVault/vaults/certificates/restore/action",
            list: "Microsoft.KeyVault/vaults/certificates/read",
        },
        rbacRole: "Key Vault Certificates Officer",
        cli: "az keyvault certificate",
        sdk: {
            module: "@azure/keyvault-certificates", clientClass: "CertificateClient", backup: "backupCertificate", restore: "restoreCertificateBackup",
            list: "listPropertiesOfCertificates", listVersions: "listPropertiesOfCertificateVersions", listDeleted: "listDeletedCertificates",
        },
    }),
};

/** The row of `kind`; throws naming the value when it is not a kind. */
export function kindInfo(kind: ObjectKind): KindInfo {
    const info = (KINDS as Record<string, KindInfo | undefined>)[kind];
    if (!info) throw new Error(`"${String(kind)}" is not an object kind; use one of ${Object.keys(KINDS).join(", ")}`);
    return info;
}

/** Whether `value` names a kind (`secret`, `key`, `certificate`). */
export function isObjectKind(value: unknown): value is ObjectKind {
    return typeof value === "string" && Object.prototype.hasOwnProperty.call(KINDS, value);
}

/**
 * The kind a backup resource's inputs or state are for, told by which name property they hold
 * (`keyName`, `certificateName`); anything else is a secret backup (every state written before
 * other kinds existed has `secretName`).
 */
export function kindOfProps(props: Record<string, unknown>): KindInfo {
    for (const info of Object.values(KINDS)) if (info.kind !== "secret" && info.nameInput in props) return info;
    return KINDS.secret;
}

/** The kinds whose backup blobs start with `tag` (one for secrets; keys and certificates share theirs). */
export function kindsWithTag(tag: string): KindInfo[] {
    return Object.values(KINDS).filter((k) => k.blobTag === tag);
}
