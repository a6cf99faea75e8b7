/**
 * The provider plugin's configuration: `keyvault-backup:*` stack config (or an explicit provider
 * resource's inputs). A plugin sees only its own package's config, so the credential the dynamic
 * provider reads from `azure-native:*` is set here under this package's name; the environment
 * (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`) fills
 * gaps, as for the dynamic provider.
 */
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
