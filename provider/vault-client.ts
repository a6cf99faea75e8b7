/**
 * Talking to Key Vault for a backup: one `SecretClient` per vault and API version, requests paced
 * per vault so a large `pulumi up` stays under the vault's limit, 429s (which come without
 * `Retry-After`, so the SDK does not retry them) backed off 1, 2, 4, 8, 16 s, and every failure
 * turned into a `VaultError` that says what to do.
 */
import { SecretClient } from "@azure/keyvault-secrets";
import type { TokenCredential } from "@azure/identity";
import { VaultError, factsFromError, type VaultCallContext } from "./errors";
import { isLoopbackHost, type ApiVersion } from "./validate";

/** How the client paces and retries; every field has a production default. */
export interface VaultClientSettings {
    /** Operations allowed per vault per 10 s (Key Vault allows 4,000; default 3,600 leaves headroom). */
    operationsPer10Seconds: number;
    /** Waits after each 429 before trying again, in ms; when they run out the call fails. */
    throttleBackoffMs: number[];
    /** How to wait; tests replace it to observe the schedule without spending the time. */
    sleep: (ms: number) => Promise<void>;
    /** The SDK's own retry of 408/5xx and network errors (its defaults otherwise). */
    retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
    /** How long one Backup Secret call may wait for the vault's answer, in ms; without it a silent vault hangs `pulumi up`. */
    requestTimeoutMs: number;
}

/** Default wait for one Backup Secret answer: generous for a 500-version secret, finite for a vault that never answers. */
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** Microsoft's advice for Key Vault throttling: exponential back-off from one second. */
export const DEFAULT_THROTTLE_BACKOFF_MS = [1000, 2000, 4000, 8000, 16000];

/** Waits `ms` for real. */
const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt`, and again after each wait in `backoffMs` while it fails with HTTP 429: Key
 * Vault's 429s carry no Retry-After, so the Azure SDK does not retry them. Resolves with the first
 * success; rejects with the first other failure, or with the last 429 once the waits are spent.
 * `statusOf` reads the HTTP status of a failure (default: the SDK error's `statusCode`).
 */
export async function retryWhileThrottled<T>(
    attempt: () => Promise<T>,
    backoffMs: readonly number[],
    options: { sleep?: (ms: number) => Promise<void>; statusOf?: (error: unknown) => number | undefined } = {},
): Promise<T> {
    const { sleep = realSleep, statusOf = (e: unknown) => factsFromError(e).status } = options;
    for (let tries = 0; ; tries++) {
        try {
            return await attempt();
        } catch (error) {
            if (statusOf(error) !== 429 || tries >= backoffMs.length) throw error;
            await sleep(backoffMs[tries]);
        }
    }
}

/** The settings used unless the provider is configured otherwise. */
export function defaultVaultClientSettings(): VaultClientSettings {
    return {
        operationsPer10Seconds: 3600,
        throttleBackoffMs: [...DEFAULT_THROTTLE_BACKOFF_MS],
        sleep: realSleep,
        requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    };
}

/** Waits before asking again after an answer was cut off mid-body (a dropped connection). */
const CUT_OFF_RETRY_MS = [500, 1000];

function isCutOffAnswer(facts: { status?: number; code?: string; message?: string }): boolean {
    return facts.code === "ECONNRESET" || (facts.code === "PARSE_ERROR" && /aborted|socket hang up|ECONNRESET|terminated/i.test(facts.message ?? ""));
}

/** What one Backup Secret call produced. */
export interface BackupResult {
    /** The decoded backup blob (encrypted by Key Vault). */
    blob: Uint8Array;
    /** Key Vault's `x-ms-request-id` of the successful call ("" if the response had none). */
    requestId: string;
}

/**
 * A token bucket: `capacity` tokens refilled continuously at `perMs` per ms. The burst is a tenth
 * of the 10 s budget so that no 10 s window can exceed burst + budget.
 */
class TokenBucket {
    private tokens: number;
    private last = Date.now();
    private queue: Promise<void> = Promise.resolve();
    constructor(private readonly capacity: number, private readonly perMs: number, private readonly sleep: (ms: number) => Promise<void>) {
        this.tokens = capacity;
    }
    /** Resolves when one operation may start; callers are served in order. */
    take(): Promise<void> {
        const turn = this.queue.then(() => this.waitForToken());
        this.queue = turn.catch(() => undefined);
        return turn;
    }
    private async waitForToken(): Promise<void> {
        for (;;) {
            const now = Date.now();
            this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
            this.last = now;
            if (this.tokens >= 1) {
                this.tokens -= 1;
                return;
            }
            await this.sleep(Math.ceil((1 - this.tokens) / this.perMs));
        }
    }
}

/**
 * Whether the SDK's check that the bearer challenge's resource matches the vault's host is turned
 * off: only for a loopback vault (the emulator), never for a real Key Vault host.
 */
export function relaxChallengeVerification(vaultUrl: string): boolean {
    return isLoopbackHost(new URL(vaultUrl).hostname);
}

/** Backs up secrets, sharing clients and pacing across every resource the host serves. */
export class VaultClients {
    private readonly clients = new Map<string, SecretClient>();
    private readonly buckets = new Map<string, TokenBucket>();
    /** Per client, the first call: the SDK learns the bearer challenge from it. */
    private readonly firstCalls = new Map<SecretClient, Promise<unknown>>();

    constructor(private readonly credential: () => TokenCredential, private readonly settings: VaultClientSettings = defaultVaultClientSettings()) {}

    /**
     * Calls Backup Secret (needs the secrets/backup permission) and returns the blob and request
     * id. Throws `VaultError` naming the vault and secret when Key Vault or the network fails,
     * including after the 429 back-off schedule ran out.
     */
    async backupSecret(vaultUrl: string, secretName: string, apiVersion: ApiVersion): Promise<BackupResult> {
        const client = this.client(vaultUrl, apiVersion);
        // A new client sends each request without a token first and learns the challenge from the
        // 401; let one call do that alone so a burst does not spend one extra request per backup.
        const first = this.firstCalls.get(client);
        if (first) await first.catch(() => undefined);
        else {
            const call = this.backupWithRetries(client, vaultUrl, secretName);
            this.firstCalls.set(client, call);
            return call;
        }
        return this.backupWithRetries(client, vaultUrl, secretName);
    }

    private async backupWithRetries(client: SecretClient, vaultUrl: string, secretName: string): Promise<BackupResult> {
        const context = { operation: "backup", vaultUrl, secretName };
        const schedule = this.settings.throttleBackoffMs;
        const cuts = { spent: 0 };
        try {
            return await retryWhileThrottled(() => this.backupOnce(client, context, cuts), schedule, { sleep: this.settings.sleep });
        } catch (error) {
            if (error instanceof VaultError) throw error;
            const facts = factsFromError(error);
            throw new VaultError(context, facts.status === 429 ? { ...facts, throttledBackoffMs: schedule } : facts);
        }
    }

    /** One paced Backup Secret call; an answer cut off mid-body is asked again (the SDK does not). Other failures are thrown as they came. */
    private async backupOnce(client: SecretClient, context: VaultCallContext, cuts: { spent: number }): Promise<BackupResult> {
        for (;;) {
            await this.bucket(context.vaultUrl).take();
            let requestId = "";
            try {
                const blob = await client.backupSecret(context.secretName, {
                    requestOptions: { timeout: this.settings.requestTimeoutMs },
                    onResponse: (response) => {
                        requestId = response.headers.get("x-ms-request-id") ?? requestId;
                    },
                });
                if (!blob || blob.length === 0) throw new VaultError(context, { message: "Key Vault returned an empty backup", requestId });
                return { blob, requestId };
            } catch (error) {
                if ((error as Error)?.name === "AbortError") {
                    const seconds = this.settings.requestTimeoutMs / 1000;
                    throw new VaultError(context, { code: "ETIMEDOUT", message: `Key Vault did not answer within ${seconds} s` });
                }
                // Backup Secret only reads, so asking again after a cut-off answer is safe.
                if (!(error instanceof VaultError) && isCutOffAnswer(factsFromError(error)) && cuts.spent < CUT_OFF_RETRY_MS.length) {
                    await this.settings.sleep(CUT_OFF_RETRY_MS[cuts.spent++]);
                    continue;
                }
                throw error;
            }
        }
    }

    private client(vaultUrl: string, apiVersion: ApiVersion): SecretClient {
        const key = `${vaultUrl} ${apiVersion}`;
        let client = this.clients.get(key);
        if (!client) {
            client = new SecretClient(vaultUrl, this.credential(), {
                serviceVersion: apiVersion,
                disableChallengeResourceVerification: relaxChallengeVerification(vaultUrl),
                retryOptions: this.settings.retryOptions,
            });
            this.clients.set(key, client);
        }
        return client;
    }

    private bucket(vaultUrl: string): TokenBucket {
        let bucket = this.buckets.get(vaultUrl);
        if (!bucket) {
            const budget = this.settings.operationsPer10Seconds;
            bucket = new TokenBucket(Math.max(1, Math.floor(budget / 10)), budget / 10_000, this.settings.sleep);
            this.buckets.set(vaultUrl, bucket);
        }
        return bucket;
    }
}
