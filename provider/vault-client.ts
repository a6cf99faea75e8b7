/**
 * Talking to Key Vault for a backup: one SDK client per object kind, vault and API version (see `kinds.ts`), requests paced
 * per vault so a large `pulumi up` stays under the vault's limit, 429s (which come without
 * `Retry-After`, so the SDK does not retry them) backed off 1, 2, 4, 8, 16 s, and every failure
 * turned into a `VaultError` that says what to do.
 */
import type { TokenCredential } from "@azure/identity";
import type { KindClient, KindInfo, ObjectProperties } from "./kinds";
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
    /**
     * Told once per pause of a vault after a 429 (see `VaultClients`): calls of one vault that are
     * throttled together share one report. Default: none (the provider logs it).
     */
    onThrottlePause?: (pause: ThrottlePause) => void;
}

/** One pause after Key Vault answered 429: which vault, how long, and which attempt comes next. */
export interface ThrottlePause {
    vaultUrl: string;
    /** How long the wait is, in ms. */
    waitMs: number;
    /** The attempt that follows the wait (2 after the first 429). */
    attempt: number;
    /** How many attempts there are in all (the first and one per wait of the schedule). */
    attempts: number;
}

/** The one line a throttling pause is reported with: the vault, the wait and the attempt that follows. */
export function throttlePauseMessage(p: ThrottlePause): string {
    const seconds = p.waitMs % 1000 === 0 ? `${p.waitMs / 1000} s` : `${(p.waitMs / 1000).toFixed(1)} s`;
    return `${p.vaultUrl}: Key Vault is throttling requests (429); waiting ${seconds} before attempt ${p.attempt} of ${p.attempts}`;
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
    options: {
        sleep?: (ms: number) => Promise<void>;
        statusOf?: (error: unknown) => number | undefined;
        /** Called before each wait with the wait and the attempt that follows it (2, 3, ...) of `backoffMs.length + 1`. */
        onPause?: (waitMs: number, attempt: number, attempts: number) => void;
    } = {},
): Promise<T> {
    const { sleep = realSleep, statusOf = (e: unknown) => factsFromError(e).status, onPause } = options;
    for (let tries = 0; ; tries++) {
        try {
            return await attempt();
        } catch (error) {
            if (statusOf(error) !== 429 || tries >= backoffMs.length) throw error;
            onPause?.(backoffMs[tries], tries + 2, backoffMs.length + 1);
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
    /** The vault's clock when it answered (its `Date` header, ms since the epoch, whole seconds); undefined without one. */
    vaultDate?: number;
}

/**
 * A token bucket: `capacity` tokens refilled continuously at `perMs` per ms. The burst is a tenth
 * of the 10 s budget so that no 10 s window can exceed burst + budget. Use `pacerFor` to build one.
 */
export class TokenBucket {
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
 * The pacing of one vault: at most `per10Seconds` operations in any 10 s (a burst of a tenth of
 * it, then spread evenly). Backups use the "other transactions" budget; restores the creations one.
 */
export function pacerFor(per10Seconds: number, sleep: (ms: number) => Promise<void> = realSleep): TokenBucket {
    return new TokenBucket(Math.max(1, Math.floor(per10Seconds / 10)), per10Seconds / 10_000, sleep);
}

/**
 * Whether the SDK's check that the bearer challenge's resource matches the vault's host is turned
 * off: only for a loopback vault (the emulator), never for a real Key Vault host.
 */
export function relaxChallengeVerification(vaultUrl: string): boolean {
    return isLoopbackHost(new URL(vaultUrl).hostname);
}

/** The object's version a backup holds, as far as Key Vault's version listing tells. Never a value. */
export interface CurrentVersion {
    /** The current (newest) version's id. */
    version: string;
    /** When that version last changed, by the vault's clock (ISO 8601 UTC); "" when the listing has no time. */
    updatedOn: string;
    /** True for a certificate's key or secret (back up the certificate instead). */
    managed: boolean;
}

/**
 * Backs up objects of every kind (see `kinds.ts`) and reads their current version, sharing one
 * SDK client per kind, vault and API version, and one pacing bucket per vault, across every
 * resource the host serves.
 */
export class VaultClients {
    private readonly clients = new Map<string, KindClient>();
    private readonly buckets = new Map<string, TokenBucket>();
    /** Per client, the first call: the SDK learns the bearer challenge from it. */
    private readonly firstCalls = new Map<KindClient, Promise<unknown>>();
    /** Per vault, until when the last reported throttling pause lasts (ms since the epoch). */
    private readonly pausedUntil = new Map<string, number>();

    constructor(private readonly credential: () => TokenCredential, private readonly settings: VaultClientSettings = defaultVaultClientSettings()) {}

    /**
     * Calls Backup Secret / Key / Certificate (needs that kind's `backup` permission) and returns
     * the blob and request id. Throws `VaultError` naming the kind, vault and object when Key
     * Vault or the network fails, including after the 429 back-off schedule ran out.
     */
    async backup(kind: KindInfo, vaultUrl: string, name: string, apiVersion: ApiVersion): Promise<BackupResult> {
        const context = { operation: "backup", vaultUrl, secretName: name, kind: kind.kind };
        return this.call(kind, vaultUrl, apiVersion, context, (client, cuts) => this.backupOnce(client, context, cuts));
    }

    /**
     * The object's current version (the newest by creation time) from its version listing: needs
     * the kind's `list` permission and never reads a value. Undefined when the listing is empty.
     * Throws `VaultError` (operation `list`) like `backup`.
     */
    async currentVersion(kind: KindInfo, vaultUrl: string, name: string, apiVersion: ApiVersion): Promise<CurrentVersion | undefined> {
        const context = { operation: "list", vaultUrl, secretName: name, kind: kind.kind };
        return this.call(kind, vaultUrl, apiVersion, context, async (client) => {
            await this.bucket(vaultUrl).take();
            let newest: ObjectProperties | undefined;
            for await (const v of client.listVersions(name, { requestOptions: { timeout: this.settings.requestTimeoutMs } })) {
                if (!newest || time(v.createdOn) >= time(newest.createdOn)) newest = v;
            }
            if (!newest?.version) return undefined;
            return { version: newest.version, updatedOn: newest.updatedOn?.toISOString() ?? "", managed: newest.managed };
        });
    }

    /** Runs `attempt` on the kind's client with the 429 back-off; the first call of a new client runs alone. */
    private async call<T>(kind: KindInfo, vaultUrl: string, apiVersion: ApiVersion, context: VaultCallContext, attempt: (client: KindClient, cuts: { spent: number }) => Promise<T>): Promise<T> {
        const client = this.client(kind, vaultUrl, apiVersion);
        const run = (): Promise<T> => this.withRetries(context, (cuts) => attempt(client, cuts));
        // A new client sends each request without a token first and learns the challenge from the
        // 401; let one call do that alone so a burst does not spend one extra request per call.
        const first = this.firstCalls.get(client);
        if (first) {
            await first.catch(() => undefined);
            return run();
        }
        const call = run();
        this.firstCalls.set(client, call);
        return call;
    }

    private async withRetries<T>(context: VaultCallContext, attempt: (cuts: { spent: number }) => Promise<T>): Promise<T> {
        const schedule = this.settings.throttleBackoffMs;
        const cuts = { spent: 0 };
        try {
            return await retryWhileThrottled(() => attempt(cuts), schedule, { sleep: this.settings.sleep, onPause: (waitMs, n, of) => this.paused(context.vaultUrl, waitMs, n, of) });
        } catch (error) {
            if (error instanceof VaultError) throw error;
            if ((error as Error)?.name === "AbortError") {
                const seconds = this.settings.requestTimeoutMs / 1000;
                throw new VaultError(context, { code: "ETIMEDOUT", message: `Key Vault did not answer within ${seconds} s` });
            }
            const facts = factsFromError(error);
            throw new VaultError(context, facts.status === 429 ? { ...facts, throttledBackoffMs: schedule } : facts);
        }
    }

    /** One paced backup call; an answer cut off mid-body is asked again (the SDK does not). Other failures are thrown as they came. */
    private async backupOnce(client: KindClient, context: VaultCallContext, cuts: { spent: number }): Promise<BackupResult> {
        for (;;) {
            await this.bucket(context.vaultUrl).take();
            let requestId = "";
            let date: string | undefined;
            try {
                const blob = await client.backup(context.secretName, {
                    requestOptions: { timeout: this.settings.requestTimeoutMs },
                    onResponse: (response) => {
                        requestId = response.headers.get("x-ms-request-id") ?? requestId;
                        date = response.headers.get("date") ?? date;
                    },
                });
                if (!blob || blob.length === 0) throw new VaultError(context, { message: "Key Vault returned an empty backup", requestId });
                const vaultDate = date === undefined ? NaN : Date.parse(date);
                return Number.isFinite(vaultDate) ? { blob, requestId, vaultDate } : { blob, requestId };
            } catch (error) {
                if ((error as Error)?.name === "AbortError") throw error;
                // A backup only reads, so asking again after a cut-off answer is safe.
                if (!(error instanceof VaultError) && isCutOffAnswer(factsFromError(error)) && cuts.spent < CUT_OFF_RETRY_MS.length) {
                    await this.settings.sleep(CUT_OFF_RETRY_MS[cuts.spent++]);
                    continue;
                }
                throw error;
            }
        }
    }

    /**
     * Reports a pause of `vaultUrl` unless it starts while a reported one is still running: calls of
     * one vault throttled together (a burst of backups) pause together, and that is one line, not one per call.
     */
    private paused(vaultUrl: string, waitMs: number, attempt: number, attempts: number): void {
        const now = Date.now();
        if (now < (this.pausedUntil.get(vaultUrl) ?? 0)) return;
        this.pausedUntil.set(vaultUrl, now + waitMs);
        this.settings.onThrottlePause?.({ vaultUrl, waitMs, attempt, attempts });
    }

    private client(kind: KindInfo, vaultUrl: string, apiVersion: ApiVersion): KindClient {
        const key = `${kind.kind} ${vaultUrl} ${apiVersion}`;
        let client = this.clients.get(key);
        if (!client) {
            client = kind.client(vaultUrl, this.credential(), {
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
            bucket = pacerFor(this.settings.operationsPer10Seconds, this.settings.sleep);
            this.buckets.set(vaultUrl, bucket);
        }
        return bucket;
    }
}

function time(d: Date | undefined): number {
    return d?.getTime() ?? 0;
}
