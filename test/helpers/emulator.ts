/**
 * Starts emulators for tests and builds the real Azure SDK clients that talk to them. The emulator's
 * certificate chains to the test CA in `.cache/test-ca`, which `npm test` puts in NODE_EXTRA_CA_CERTS,
 * so TLS is verified for real.
 */
import * as assert from "node:assert/strict";
import { SecretClient, type SecretClientOptions } from "@azure/keyvault-secrets";
import { KeyClient, type KeyClientOptions } from "@azure/keyvault-keys";
import { CertificateClient, type CertificateClientOptions } from "@azure/keyvault-certificates";
import { loadOrCreateCa } from "../../emulator/tls";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator";
import type { KeyVaultError } from "../../emulator/errors";
import { testCaDir } from "./paths";
import { azureNativeConfig, emulatorCredential } from "../../scripts/emulator-identity";

/** Starts an emulator whose certificate is issued by the test CA; throttling off unless asked for. */
export async function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
    const ca = await loadOrCreateCa(testCaDir);
    return startEmulator({ throttle: false, ...options, tls: { caCertPath: ca.caCertPath, caKeyPath: ca.caKeyPath } });
}

/** A real `ClientSecretCredential` for principal `principalIndex` (see `scripts/emulator-identity.ts`). */
export const credentialFor = emulatorCredential;

/**
 * A real `SecretClient` for `vaultName` as principal `principalIndex`. Challenge resource
 * verification is off because the vault's host is loopback, not `*.vault.azure.net`; retries are
 * off unless `options.retryOptions` says otherwise, so tests see each answer.
 */
export function secretClientFor(
    emulator: RunningEmulator,
    vaultName: string,
    principalIndex = 0,
    options: SecretClientOptions = {},
): SecretClient {
    return new SecretClient(vaultUrlOf(emulator, vaultName), credentialFor(emulator, principalIndex), {
        disableChallengeResourceVerification: true,
        retryOptions: { maxRetries: 0 },
        ...options,
    });
}

function vaultUrlOf(emulator: RunningEmulator, vaultName: string): string {
    const url = emulator.vaults[vaultName];
    if (!url) throw new Error(`the emulator has no vault "${vaultName}" (it has ${Object.keys(emulator.vaults).join(", ")})`);
    return url;
}

/** A real `KeyClient` for `vaultName` as principal `principalIndex`, set up as `secretClientFor` (challenge check relaxed for loopback, no retries). */
export function keyClientFor(emulator: RunningEmulator, vaultName: string, principalIndex = 0, options: KeyClientOptions = {}): KeyClient {
    return new KeyClient(vaultUrlOf(emulator, vaultName), credentialFor(emulator, principalIndex), {
        disableChallengeResourceVerification: true,
        retryOptions: { maxRetries: 0 },
        ...options,
    });
}

/** A real `CertificateClient` for `vaultName` as principal `principalIndex`, set up as `secretClientFor`. */
export function certificateClientFor(emulator: RunningEmulator, vaultName: string, principalIndex = 0, options: CertificateClientOptions = {}): CertificateClient {
    return new CertificateClient(vaultUrlOf(emulator, vaultName), credentialFor(emulator, principalIndex), {
        disableChallengeResourceVerification: true,
        retryOptions: { maxRetries: 0 },
        ...options,
    });
}

/**
 * Asserts that `action` fails with exactly this status, code and message (recorded text, written
 * literally by the caller), as the SDK's RestError reports them.
 */
export async function assertServiceError(action: Promise<unknown>, status: number, code: string, message: string | RegExp): Promise<void> {
    await assert.rejects(action, (e: unknown) => {
        const err = e as { statusCode?: number; code?: string; message?: string };
        assert.equal(err.statusCode, status, `status of: ${err.message}`);
        assert.equal(err.code, code);
        if (typeof message === "string") assert.equal(err.message, message);
        else assert.match(String(err.message), message);
        return true;
    });
}

/** A name no other test uses: `prefix` plus a random suffix (secret names allow letters, digits, dashes). */
export function uniqueName(prefix: string): string {
    return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Asserts that `action` fails the way the emulator's `expected` error says: same status, code and
 * message, as the SDK's RestError reports them.
 */
export async function assertKeyVaultError(action: Promise<unknown>, expected: KeyVaultError): Promise<void> {
    await assert.rejects(action, (e: unknown) => {
        const err = e as { statusCode?: number; code?: string; message?: string };
        assert.equal(err.statusCode, expected.status, `status of: ${err.message}`);
        assert.equal(err.code, expected.code);
        assert.equal(err.message, expected.message);
        return true;
    });
}

/** Stack config with principal `principalIndex`'s `azure-native:*` credential (see `scripts/emulator-identity.ts`). */
export { azureNativeConfig };

/**
 * Points `AZURE_AUTHORITY_HOST` at the emulator's Entra ID stand-in for code running in this
 * process (the provider reads it, as it would in the host); returns the function that puts it back.
 */
export function pointAuthorityHostAt(emulator: RunningEmulator): () => void {
    const saved = process.env.AZURE_AUTHORITY_HOST;
    process.env.AZURE_AUTHORITY_HOST = emulator.authorityHost;
    return () => {
        if (saved === undefined) delete process.env.AZURE_AUTHORITY_HOST;
        else process.env.AZURE_AUTHORITY_HOST = saved;
    };
}
