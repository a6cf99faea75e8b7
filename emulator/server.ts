/**
 * Starts the emulator: one HTTPS server per vault (each its own port, so ids look like
 * `https://127.0.0.1:<port>/secrets/<name>/<version>` and parse with the SDK's parser) and one for
 * the Entra ID stand-in and the admin endpoint. Guards its lifecycle (starting, running, closing).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { createCa, issueServerCertificate, loadOrCreateCa, readCa, type CaFiles } from "./tls";
import { Entra, type MintOptions } from "./entra";
import { authenticate, authorize, challengeFor } from "./auth";
import { checkApiVersion } from "./api-version";
import { matchRoute, operationOf } from "./routes";
import { BackupCodec } from "./backup-codec";
import { Faults, parseFaultSpec, type FaultSpec, type ThrottleLimits } from "./faults";
import { KeyVaultError, badParameter, scriptedFault, throttled } from "./errors";
import { parseQuery, readBody, sendJson } from "./http";
import { Store, newVault, type EmulatorState } from "./store";
import { initialState, readSeed, checkVaultName, type Seed } from "./seed";
import type { Principal } from "./principals";

/** How to start the emulator. Every field is optional. */
export interface EmulatorOptions {
    /** Address to bind (default 127.0.0.1). */
    host?: string;
    /** Port of the authority/admin server (default 0 = any free port). */
    port?: number;
    /** Vault names (default `["demo"]` unless the seed names vaults). */
    vaults?: string[];
    /** A seed file path or object: vaults, secrets, principals (applied when the state is new). */
    seed?: string | Seed;
    /** Keep state in `dataDir/state.json` across restarts (also the CA, when none is given). */
    dataDir?: string;
    /** A CA to issue the server certificate from; otherwise one is made. */
    tls?: CaFiles;
    /** Emulators sharing it restore each other's backups; default: random (kept in the data file). */
    backupKey?: string;
    /** Per-vault limits (default 4000 operations and 300 creations per 10 s); `false` = off. */
    throttle?: Partial<ThrottleLimits> | false;
    /** Added to every vault response, in ms. */
    latencyMs?: number;
    /** Region reported in headers and 403 messages (default "local"). */
    region?: string;
}

/** One entry of the request log. */
export interface RequestRecord {
    vault: string;
    method: string;
    path: string;
    operation: string;
    status: number;
    time: number;
}

/** The in-process fault controls (the admin endpoint offers the same). */
export interface FaultControls {
    add(spec: FaultSpec): void;
    clear(): void;
    setLatency(ms: number): void;
    setThrottle(limits: Partial<ThrottleLimits> | false): void;
}

/** A running emulator: the facts the ready line prints, plus controls and `close()`. */
export interface RunningEmulator {
    vaults: Record<string, string>;
    caCertPath: string;
    authorityHost: string;
    tenantId: string;
    principals: Principal[];
    adminUrl: string;
    faults: FaultControls;
    /** Every vault request so far (a copy), oldest first. */
    requests(): RequestRecord[];
    /** Signs a token as the Entra stand-in would (for tests of wrong audience, issuer, expiry). */
    mintToken(principalIndex: number, options?: MintOptions): Promise<string>;
    /** Stops every server and drops open connections; safe to call twice. */
    close(): Promise<void>;
}

const SERVICE_VERSION = "1.9.2400.1";

/** Starts the emulator; resolves once every server listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
    const host = options.host ?? "127.0.0.1";
    const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    const region = options.region ?? "local";
    const seed = typeof options.seed === "string" ? readSeed(options.seed) : (options.seed ?? {});
    const vaultNames = options.vaults?.map(checkVaultName);
    const build = () => initialState(seed, vaultNames, options.backupKey);
    const store = options.dataDir ? Store.open(options.dataDir, build) : Store.memory(build());
    const state = store.state;
    for (const name of vaultNames ?? []) if (!state.vaults[name]) state.vaults[name] = newVault(name);
    if (options.backupKey && options.backupKey !== state.backupKey) state.backupKey = options.backupKey;
    store.save();

    const tls = await serverTls(options, host);
    const entra = await Entra.create(state.tenantId, () => state.principals);
    const codec = new BackupCodec(state.backupKey);
    const faults = new Faults(options.throttle, options.latencyMs ?? 0);
    const log: RequestRecord[] = [];
    const servers: https.Server[] = [];
    let phase: "starting" | "running" | "closing" | "closed" = "starting";

    const authority = https.createServer({ cert: tls.certPem, key: tls.keyPem });
    servers.push(authority);
    const authorityPort = await listenOrCleanUp(authority, host, options.port ?? 0);
    const authorityHost = `https://${urlHost}:${authorityPort}`;
    const challenge = challengeFor(authorityHost, state.tenantId);
    authority.on("request", (req, res) => {
        void handleAuthority(req, res).catch((e) => sendJson(res, 500, { error: String((e as Error).message) }));
    });

    async function handleAuthority(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const body = await readBody(req);
        if (await entra.handle(req, res, body, authorityHost)) return;
        const p = (req.url ?? "/").split("?")[0];
        try {
            if (p === "/admin/faults" && req.method === "POST") {
                const parsed: unknown = JSON.parse(body.toString("utf8") || "null");
                for (const spec of Array.isArray(parsed) ? parsed : [parsed]) faults.add(parseFaultSpec(spec));
                return sendJson(res, 204, undefined);
            }
            if (p === "/admin/faults" && req.method === "DELETE") return (faults.clear(), sendJson(res, 204, undefined));
            if (p === "/admin/latency" && req.method === "PUT") {
                return (faults.setLatency((JSON.parse(body.toString("utf8")) as { ms: number }).ms), sendJson(res, 204, undefined));
            }
            if (p === "/admin/throttle" && req.method === "PUT") {
                return (faults.setThrottle(JSON.parse(body.toString("utf8")) as Partial<ThrottleLimits> | false), sendJson(res, 204, undefined));
            }
            if (p === "/admin/requests" && req.method === "GET") return sendJson(res, 200, log);
        } catch (e) {
            return sendJson(res, 400, { error: (e as Error).message });
        }
        sendJson(res, 404, { error: `no such endpoint: ${req.method} ${p}` });
    }

    const vaults: Record<string, string> = {};
    for (const name of Object.keys(state.vaults)) {
        const server = https.createServer({ cert: tls.certPem, key: tls.keyPem });
        servers.push(server);
        const port = await listenOrCleanUp(server, host, 0);
        const baseUrl = `https://${urlHost}:${port}`;
        vaults[name] = baseUrl;
        server.on("request", (req, res) => void handleVault(name, baseUrl, req, res));
    }

    async function handleVault(vaultName: string, baseUrl: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
        const method = req.method ?? "GET";
        const [rawPath] = (req.url ?? "/").split("?");
        const operation = operationOf(method, rawPath);
        const record: RequestRecord = { vault: vaultName, method, path: rawPath, operation, status: 0, time: Date.now() };
        log.push(record);
        const headers: Record<string, string> = {
            "x-ms-request-id": randomUUID(),
            "x-ms-keyvault-region": region,
            "x-ms-keyvault-service-version": SERVICE_VERSION,
            "x-ms-keyvault-network-info": `conn_type=Ipv4;addr=${req.socket.remoteAddress ?? ""};act_addr_fam=InterNetwork;`,
            ...(typeof req.headers["x-ms-client-request-id"] === "string" ? { "x-ms-client-request-id": req.headers["x-ms-client-request-id"] } : {}),
        };
        let status = 500;
        let payload: unknown;
        let extra: Record<string, string> = {};
        try {
            const raw = await readBody(req);
            ({ status, payload } = await answer(vaultName, baseUrl, req, method, rawPath, raw, res));
            if (status === -1) return; // connection dropped on purpose
        } catch (e) {
            const err = e instanceof KeyVaultError ? e : new KeyVaultError(500, "InternalServerError", `The emulator failed: ${(e as Error).message}`);
            status = err.status;
            payload = err.toBody();
            extra = err.headers;
        }
        if (faults.latencyMs > 0) await delay(faults.latencyMs);
        record.status = status;
        sendJson(res, status, payload, { ...headers, ...extra });
    }

    async function answer(
        vaultName: string,
        baseUrl: string,
        req: IncomingMessage,
        method: string,
        rawPath: string,
        raw: Buffer,
        res: ServerResponse,
    ): Promise<{ status: number; payload: unknown }> {
        if (phase !== "running") throw new KeyVaultError(503, "ServiceUnavailable", "The emulator is shutting down.");
        const principal = await authenticate(req.headers.authorization, entra, state.principals, challenge);
        const query = parseQuery(req.url ?? "");
        const apiVersion = checkApiVersion(query.get("api-version"));
        const route = matchRoute(method, rawPath);
        if (!faults.admit(vaultName, route.creation)) throw throttled();
        const fault = faults.take(vaultName, route.operation);
        if (fault?.kind === "status") throw scriptedFault(fault.status, challenge);
        if (fault?.kind === "drop") {
            res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": "1000" });
            res.write('{"value":"');
            await delay(5);
            res.destroy();
            return { status: -1, payload: undefined };
        }
        if (fault?.kind === "delay") await delay(fault.ms);
        const vaultState = state.vaults[vaultName];
        authorize(vaultState, principal, route.permission, state.tenantId, region, req.socket.remoteAddress ?? "", route.name);
        let body: Record<string, unknown> = {};
        if (raw.length) {
            try {
                body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
            } catch {
                throw badParameter("The request body is not valid JSON.");
            }
        }
        const now = Math.floor(Date.now() / 1000);
        const payload = await route.run({ ctx: { state: vaultState, baseUrl }, codec, body: body ?? {}, query: { apiVersion, maxResults: query.get("maxresults"), skipToken: query.get("$skiptoken") }, now });
        if (route.mutates) store.save();
        return { status: route.status, payload: route.status === 204 ? undefined : payload };
    }

    /** A failed start leaves nothing listening and no temp CA behind. */
    async function listenOrCleanUp(server: https.Server, bindHost: string, port: number): Promise<number> {
        try {
            return await listen(server, bindHost, port);
        } catch (e) {
            await Promise.all(servers.filter((s) => s.listening).map((s) => closeServer(s)));
            tls.cleanup();
            throw new Error(`the emulator cannot listen on ${bindHost}:${port}: ${(e as Error).message}`);
        }
    }

    phase = "running";
    let closing: Promise<void> | undefined;
    return {
        vaults,
        caCertPath: tls.caCertPath,
        authorityHost,
        tenantId: state.tenantId,
        principals: state.principals.map((p) => ({ ...p, permissions: [...p.permissions] })),
        adminUrl: `${authorityHost}/admin`,
        faults: {
            add: (spec) => faults.add(spec),
            clear: () => faults.clear(),
            setLatency: (ms) => faults.setLatency(ms),
            setThrottle: (limits) => faults.setThrottle(limits),
        },
        requests: () => log.map((r) => ({ ...r })),
        mintToken: (i, o) => entra.mint(state.principals[i], o),
        close: () => {
            closing ??= (async () => {
                phase = "closing";
                await Promise.all(servers.map((s) => closeServer(s)));
                tls.cleanup();
                phase = "closed";
            })();
            return closing;
        },
    };
}

/** The CA file and a server certificate; a CA made here lives in dataDir, or a temp dir removed at close. */
async function serverTls(options: EmulatorOptions, host: string) {
    const hosts = ["localhost", "127.0.0.1", "::1", ...(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"].includes(host) ? [] : [host])];
    if (options.tls) {
        const ca = readCa(options.tls);
        return { ...(await issueServerCertificate(ca, hosts)), caCertPath: options.tls.caCertPath, cleanup: () => undefined };
    }
    const dir = options.dataDir ? path.join(options.dataDir, "tls") : fs.mkdtempSync(path.join(os.tmpdir(), "keyvault-emulator-"));
    const ca = options.dataDir ? await loadOrCreateCa(dir) : await writeTempCa(dir);
    const cert = await issueServerCertificate(ca, hosts);
    return {
        ...cert,
        caCertPath: ca.caCertPath,
        cleanup: () => (options.dataDir ? undefined : fs.rmSync(dir, { recursive: true, force: true })),
    };
}

async function writeTempCa(dir: string) {
    const ca = await createCa();
    const caCertPath = path.join(dir, "ca.pem");
    fs.writeFileSync(caCertPath, ca.certPem, { mode: 0o644 });
    return { ...ca, caCertPath, caKeyPath: "" };
}

function listen(server: https.Server, host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
            server.off("error", reject);
            resolve((server.address() as AddressInfo).port);
        });
    });
}

function closeServer(server: https.Server): Promise<void> {
    return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
    });
}

function delay(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** The state type, re-exported for tools that read the data file. */
export type { EmulatorState };
