/**
 * The provider plugin's configuration: `keyvault-backup:*` stack config (or an explicit provider
 * resource's inputs). A plugin sees only its own package's config, so the credential the dynamic
 * provider reads from `azure-native:*` is set here under this package's name; the environment
 * (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`) fills
 * gaps, as for the dynamic provider.
 */
import { isRpcSecret, unwrapRpcSecret } from "@pulumi/pulumi/runtime/rpc";
import type { ConfigSource } from "../credentials";
import { PACKAGE_NAME } from "./tokens";

/** The plugin's configuration keys (each `keyvault-backup:<key>`); the schema's `config` is generated from this. */
export interface PluginConfigValues {
    /** The client (application) id of the service principal the plugin signs in as; default `AZURE_CLIENT_ID`, else DefaultAzureCredential. */
    clientId?: string;
    /** That service principal's client secret (set it with `pulumi config set --secret`); default `AZURE_CLIENT_SECRET`. */
    clientSecret?: string;
    /** The Entra ID tenant of the service principal; default `AZURE_TENANT_ID`. */
    tenantId?: string;
    /** The Azure cloud whose Entra ID signs in: `public` (default), `usgovernment` or `china`. */
    environment?: string;
    /** Key Vault operations per 10 seconds per vault that backups are paced to; default 3600. */
    vaultOperationsPer10Seconds?: number;
}

/** The keys of `PluginConfigValues`. */
export const CONFIG_KEYS: ReadonlyArray<keyof PluginConfigValues> = ["clientId", "clientSecret", "tenantId", "environment", "vaultOperationsPer10Seconds"];

/** The keys of `PluginConfigValues` that hold secret material (marked secret in the schema). */
export const SECRET_CONFIG_KEYS: ReadonlyArray<keyof PluginConfigValues> = ["clientSecret"];

/**
 * `values` (`keyvault-backup:<key>` or bare `<key>` names, as Configure gives them) as the
 * `ConfigSource` the shared code reads: `azure-native:clientId` is read from
 * `keyvault-backup:clientId` (likewise the other credential keys), and the pacing
 * (`secret-backup:vaultOperationsPer10Seconds`) from `keyvault-backup:vaultOperationsPer10Seconds`.
 */
export function pluginConfig(values: Record<string, string | undefined>): ConfigSource {
    const bare = (key: string): string => key.slice(key.indexOf(":") + 1);
    return { get: (key: string) => values[`${PACKAGE_NAME}:${bare(key)}`] ?? values[bare(key)] };
}

/**
 * `value` with every secret the engine wrapped (`{ [specialSigKey]: specialSecretSig, value }`,
 * sent to a provider that accepts secrets) replaced by its value, at any depth.
 */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        if (isRpcSecret(value)) return unwrapSecrets(unwrapRpcSecret(value));
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** The parts of a Configure request (`pulumirpc.ConfigureRequest`) the plugin reads. */
export type ConfigureRequest = { getVariablesMap(): { entries(): Iterable<[string, string]> }; getArgs(): { toJavaScript(): Record<string, unknown> } | undefined };

/**
 * The configuration a Configure request carries, by bare key (`clientId`): its `args` (the
 * provider's inputs, secrets wrapped), else its older `variables` map (`keyvault-backup:config:clientId`).
 */
export function configureValues(request: ConfigureRequest): Record<string, string> {
    const args = request.getArgs()?.toJavaScript();
    const out: Record<string, string> = {};
    if (args) {
        for (const [k, v] of Object.entries(args)) {
            const value = unwrapSecrets(v);
            if (k !== "version" && value !== undefined && value !== null) out[k] = typeof value === "string" ? value : JSON.stringify(value);
        }
        return out;
    }
    for (const [k, v] of request.getVariablesMap().entries()) out[k.slice(k.lastIndexOf(":") + 1)] = v;
    return out;
}
