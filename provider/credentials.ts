/**
 * The Azure credential the provider uses, built inside the provider host from the stack's
 * `azure-native:*` configuration and the environment, so one configuration serves
 * `@pulumi/azure-native` and `SecretBackup`. Nothing here is ever stored in the serialized
 * provider or in state.
 */
import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { isLoopbackHost } from "./validate";

/** The settings a credential is built from (all optional). */
export interface CredentialSettings {
    clientId?: string;
    clientSecret?: string;
    tenantId?: string;
    /** Entra ID's base URL, e.g. `https://login.microsoftonline.com`. */
    authorityHost?: string;
}

/** Anything with Pulumi's `Config.get`. */
export interface ConfigSource {
    get(key: string): string | undefined;
}

/** `azure-native:environment` values and the Entra ID authority of each cloud. */
const AUTHORITY_HOSTS: Record<string, string> = {
    public: "https://login.microsoftonline.com",
    usgovernment: "https://login.microsoftonline.us",
    china: "https://login.chinacloudapi.cn",
};

/**
 * Reads credential settings: `azure-native:clientId|clientSecret|tenantId` from the stack config,
 * falling back to `AZURE_CLIENT_ID|AZURE_CLIENT_SECRET|AZURE_TENANT_ID`. The authority is
 * `AZURE_AUTHORITY_HOST` when set (the only way to name a non-standard authority, such as the
 * emulator's), else the cloud named by `azure-native:environment`, else the public cloud.
 * Throws when `azure-native:environment` names an unknown cloud.
 */
export function credentialSettings(config: ConfigSource | undefined, env: NodeJS.ProcessEnv = process.env): CredentialSettings {
    const get = (key: string): string | undefined => nonEmpty(configValue(config, `azure-native:${key}`));
    const environment = get("environment")?.toLowerCase();
    if (environment && !AUTHORITY_HOSTS[environment]) {
        throw new Error(`azure-native:environment "${environment}" is not one of ${Object.keys(AUTHORITY_HOSTS).join(", ")}`);
    }
    return {
        clientId: get("clientId") ?? nonEmpty(env.AZURE_CLIENT_ID),
        clientSecret: get("clientSecret") ?? nonEmpty(env.AZURE_CLIENT_SECRET),
        tenantId: get("tenantId") ?? nonEmpty(env.AZURE_TENANT_ID),
        authorityHost: nonEmpty(env.AZURE_AUTHORITY_HOST) ?? (environment ? AUTHORITY_HOSTS[environment] : undefined),
    };
}

/**
 * A credential for the settings: `ClientSecretCredential` when a client secret (with client and
 * tenant id) is configured, else `DefaultAzureCredential` (environment, workload and managed
 * identity, Azure CLI, ...). Instance discovery (a call to the public cloud) is turned off only
 * for a loopback authority, the emulator's.
 */
export function createCredential(settings: CredentialSettings): TokenCredential {
    const authorityHost = settings.authorityHost;
    const disableInstanceDiscovery = authorityHost ? isLoopbackHost(new URL(authorityHost).hostname) : false;
    if (settings.clientSecret) {
        if (!settings.clientId || !settings.tenantId) {
            throw new Error("a client secret is configured but azure-native:clientId or azure-native:tenantId (or AZURE_CLIENT_ID / AZURE_TENANT_ID) is missing");
        }
        return new ClientSecretCredential(settings.tenantId, settings.clientId, settings.clientSecret, { authorityHost, disableInstanceDiscovery });
    }
    return new DefaultAzureCredential({
        authorityHost,
        disableInstanceDiscovery,
        tenantId: settings.tenantId,
        managedIdentityClientId: settings.clientId,
    });
}

function nonEmpty(value: string | undefined): string | undefined {
    return value === undefined || value === "" ? undefined : value;
}

/**
 * The value of `key` in `config`, or undefined. The host's Config throws on a missing raw config
 * (Configure never called); that counts as empty.
 */
export function configValue(config: ConfigSource | undefined, key: string): string | undefined {
    try {
        return config?.get(key);
    } catch {
        return undefined;
    }
}

/**
 * The credential the environment describes (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID,
 * AZURE_AUTHORITY_HOST), else DefaultAzureCredential's chain: what the command-line tools use.
 */
export function environmentCredential(): TokenCredential {
    return createCredential(credentialSettings(undefined));
}
