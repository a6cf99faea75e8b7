/**
 * The credential restore/verify use when none is given. Temporary until provider/credentials.ts
 * lands: the environment (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID,
 * AZURE_AUTHORITY_HOST) through DefaultAzureCredential, with instance discovery off for a
 * loopback authority (the local emulator), where MSAL's discovery call to the internet fails.
 */
import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";

/** DefaultAzureCredential, configured for a loopback `AZURE_AUTHORITY_HOST` when one is set. */
export function defaultCredential(): TokenCredential {
    const authorityHost = process.env.AZURE_AUTHORITY_HOST;
    const loopback = authorityHost !== undefined && /^https:\/\/(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?(\/|$)/.test(authorityHost);
    return new DefaultAzureCredential(loopback ? { authorityHost, disableInstanceDiscovery: true } : {});
}
