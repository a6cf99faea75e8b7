/**
 * Signing in to a running emulator as one of its principals, shared by the demo, the bench and the
 * tests: the real `ClientSecretCredential`, and the stack config a user would set for the provider.
 */
import { ClientSecretCredential } from "@azure/identity";
import type { RunningEmulator } from "../emulator";

/** What identifying a principal needs: a running emulator, or the CLI's ready line (same fields). */
export type EmulatorIdentity = Pick<RunningEmulator, "tenantId" | "principals" | "authorityHost">;

/**
 * A real `ClientSecretCredential` for the emulator's principal `principalIndex` ([0] every secret
 * permission, [1] get and list), pointed at its Entra ID stand-in (no instance discovery: offline).
 * Throws naming the index when the emulator has no such principal.
 */
export function emulatorCredential(emulator: EmulatorIdentity, principalIndex = 0): ClientSecretCredential {
    const p = emulator.principals[principalIndex];
    if (!p) throw new Error(`the emulator has no principal ${principalIndex} (it has ${emulator.principals.length})`);
    return new ClientSecretCredential(emulator.tenantId, p.clientId, p.clientSecret, {
        authorityHost: emulator.authorityHost,
        disableInstanceDiscovery: true,
    });
}

/**
 * The stack config that gives the provider principal `principalIndex`'s credential, as a user
 * would set it (`azure-native:clientId`, `clientSecret`, `tenantId`), plus `extra` keys.
 */
export function azureNativeConfig(emulator: EmulatorIdentity, principalIndex = 0, extra: Record<string, string> = {}): Record<string, string> {
    const p = emulator.principals[principalIndex];
    return { "azure-native:clientId": p.clientId, "azure-native:clientSecret": p.clientSecret, "azure-native:tenantId": emulator.tenantId, ...extra };
}
