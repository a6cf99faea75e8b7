/**
 * One vault's request pipeline, in the service's order: challenge and token, api-version, route,
 * throttle, scripted faults, network rule and permission, then the operation; every answer carries
 * Key Vault's headers and goes into the request log.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { authenticate, authorize } from "./auth";
import { checkApiVersion } from "./api-version";
import type { BackupCodec } from "./backup-codec";
import type { Entra } from "./entra";
import { KeyVaultError, badParameter, scriptedFault, throttled } from "./errors";
import type { Faults } from "./faults";
import { parseQuery, pathOf, readBody, Reply, sendJson } from "./http";
import { routeOf, type Route } from "./routes";
import { settleAll } from "./certificates";
import type { Store } from "./store";
import type { Lag } from "./vault";

/**
 * One entry of the request log; `status` is 0 until the answer is sent: the request is still in
 * flight, or its connection was dropped on purpose (a `drop` fault).
 */
export interface RequestRecord {
    vault: string;
    method: string;
    path: string;
    operation: string;
    /** The `api-version` query parameter as the client sent it ("" when absent). */
    apiVersion: string;
    status: number;
    time: number;
}

/** What a vault's pipeline needs from the running emulator. */
export interface VaultDeps {
    store: Store;
    entra: Entra;
    codec: BackupCodec;
    faults: Faults;
    log: RequestRecord[];
    region: string;
    challenge: string;
    lag?: Lag;
    /** Backup of a certificate's key or secret: "refuse" (default, a guess) or "allow". */
    managedBackup?: "refuse" | "allow";
    /** Certificate creation completes this many ms after the request (default 0). */
    certificateDelayMs?: number;
    /** False once closing has begun: requests then get 503. */
    running(): boolean;
}

const SERVICE_VERSION = "1.9.2400.1";
/** The request log keeps this many of the newest records, so a long-running emulator does not grow without bound. */
const REQUEST_LOG_LIMIT = 200_000;
const DROPPED = -1;

/**
 * The base URL a request names its vault by: `https://` + the request's Host header, without a
 * default `:443` (as the service builds ids from the vault's host name); `fallback` when the
 * header is missing or not a plain host[:port].
 */
function requestBaseUrl(req: IncomingMessage, fallback: string): string {
    const host = req.headers.host;
    if (!host || !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) return fallback;
    return `https://${host.replace(/:443$/, "").toLowerCase()}`;
}

/** The `request` listener for vault `vaultName`; ids use the request's host (`baseUrl` without one). */
export function vaultHandler(deps: VaultDeps, vaultName: string, baseUrl: string) {
    return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const method = req.method ?? "GET";
        const path = pathOf(req);
        const route = routeOf(method, path);
        const operation = route instanceof Error ? "unknown" : route.operation;
        const apiVersion = parseQuery(req.url ?? "").get("api-version") ?? "";
        const record: RequestRecord = { vault: vaultName, method, path, operation, apiVersion, status: 0, time: Date.now() };
        deps.log.push(record);
        if (deps.log.length > REQUEST_LOG_LIMIT) deps.log.splice(0, deps.log.length - REQUEST_LOG_LIMIT);
        let status: number;
        let payload: unknown;
        let extra: Record<string, string> = {};
        try {
            ({ status, payload } = await answer(deps, vaultName, route, requestBaseUrl(req, baseUrl), req, res, await readBody(req)));
            if (status === DROPPED) return;
            if (payload instanceof Reply) ({ status, body: payload, headers: extra } = payload);
        } catch (e) {
            const err = e instanceof KeyVaultError ? e : new KeyVaultError(500, "InternalServerError", `The emulator failed: ${(e as Error).message}`);
            ({ status } = err);
            payload = err.toBody();
            extra = err.headers;
        }
        if (deps.faults.latencyMs > 0) await delay(deps.faults.latencyMs);
        record.status = status;
        sendJson(res, status, payload, { ...serviceHeaders(req, deps.region), date: new Date(deps.faults.now()).toUTCString(), ...extra });
    };
}

function serviceHeaders(req: IncomingMessage, region: string): Record<string, string> {
    const clientRequestId = req.headers["x-ms-client-request-id"];
    return {
        "x-ms-request-id": randomUUID(),
        "x-ms-keyvault-region": region,
        "x-ms-keyvault-service-version": SERVICE_VERSION,
        "x-ms-keyvault-network-info": `conn_type=Ipv4;addr=${req.socket.remoteAddress ?? ""};act_addr_fam=InterNetwork;`,
        ...(typeof clientRequestId === "string" ? { "x-ms-client-request-id": clientRequestId } : {}),
    };
}

/** The operation's status and payload for one request; an unmatched `matched` is thrown once the caller is authenticated. */
async function answer(
    deps: VaultDeps,
    vaultName: string,
    matched: Route | Error,
    baseUrl: string,
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
): Promise<{ status: number; payload: unknown }> {
    if (!deps.running()) throw new KeyVaultError(503, "ServiceUnavailable", "The emulator is shutting down.");
    const { state } = deps.store;
    const principal = await authenticate(req.headers.authorization, deps.entra, state.principals, deps.challenge);
    const query = parseQuery(req.url ?? "");
    const apiVersion = checkApiVersion(query.get("api-version"));
    if (matched instanceof Error) throw matched;
    const route = matched;
    if (!deps.faults.admit(vaultName, route.creation)) throw throttled();
    const fault = deps.faults.take(vaultName, route.operation);
    if (fault?.kind === "status") throw scriptedFault(fault.status, deps.challenge);
    if (fault?.kind === "drop") {
        await dropMidResponse(res);
        return { status: DROPPED, payload: undefined };
    }
    if (fault?.kind === "delay") await delay(fault.ms);
    const vault = state.vaults[vaultName];
    authorize(vault, principal, route.permission, state.tenantId, deps.region, req.socket.remoteAddress ?? "", route.name);
    const ctx = { state: vault, baseUrl, lag: deps.lag, managedBackup: deps.managedBackup ?? state.managedBackup, certificateDelayMs: deps.certificateDelayMs };
    const now = Math.floor(deps.faults.now() / 1000);
    const settled = settleAll(ctx, now); // a certificate whose creation completed meanwhile shows up in every kind's answers
    const payload = await route.run({
        ctx,
        codec: deps.codec,
        body: parseBody(raw),
        query: { apiVersion, maxResults: query.get("maxresults"), skipToken: query.get("$skiptoken") },
        now,
    });
    if (route.mutates || settled) deps.store.save();
    if (payload instanceof Reply) return { status: payload.status, payload };
    return { status: route.status, payload: route.status === 204 ? undefined : payload };
}

function parseBody(raw: Buffer): Record<string, unknown> {
    if (!raw.length) return {};
    let body: unknown;
    try {
        body = JSON.parse(raw.toString("utf8"));
    } catch {
        throw badParameter("The request body is not valid JSON.");
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badParameter("The request body must be a JSON object.");
    return body as Record<string, unknown>;
}

/** Sends headers and the start of a body, then destroys the connection. */
async function dropMidResponse(res: ServerResponse): Promise<void> {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": "1000" });
    res.write('{"value":"');
    await delay(5);
    res.destroy();
}

function delay(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
