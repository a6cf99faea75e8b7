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
import { createCa, issueServerCertificate, loadOrCreateCa, readCa, type CaFiles } from "./tls";
import { Entra, type MintOptions } from "./entra";
import { challengeFor } from "./auth";
import { BackupCodec } from "./backup-codec";
import { Faults, type FaultSpec, type ThrottleLimits } from "./faults";
import { readBody, sendJson } from "./http";
import { Store, newVault, type EmulatorState } from "./store";
import { initialState, readSeed, checkVaultName, seedCertificates, type Seed } from "./seed";
import type { Principal } from "./principals";
import type { Lag } from "./vault";
import { handleAdmin } from "./admin";
import { vaultHandler, type RequestRecord, type VaultDeps } from "./vault-handler";

export type { RequestRecord };

/** How to start the emulator. Every field is optional. */
export interface EmulatorOptions {
    /** Address to bind (default 127.0.0.1). */
    host?: string;
    /** Port of the authority/admin server (default 0 = any free port). */
    port?: number;
    /** Ports for named vaults (a taken port is an error); others get their remembered or a free port. */
    vaultPorts?: Record<string, number>;
    /**
     * Host names for named vaults (e.g. `myvault.vault.azure.net`): the vault's URL uses it (with its
     * port, none when 443) and the server certificate made here covers it. The emulator still binds to
     * `host` only (loopback by default); making the name resolve there (e.g. /etc/hosts) is the caller's.
     */
    vaultHosts?: Record<string, string>;
    /** Vault names (default `["demo"]` unless the seed names vaults). */
    vaults?: string[];
    /** A seed file path or object: vaults, secrets, principals (applied when the state is new). */
    seed?: string | Seed;
    /**
     * Keep state in `dataDir/state.json` across restarts (also the CA, when none is given). Each
     * vault's port is kept too, so its URL, an input of every SecretBackup, survives a restart
     * (a port taken meanwhile falls back to a free one, and the ready line says which).
     */
    dataDir?: string;
    /**
     * A CA to issue the server certificate from (`{ caCertPath, caKeyPath }`), or a server
     * certificate chain and key to use as they are (`{ certPath, keyPath, caCertPath? }`: the ready
     * line's caCertPath is then `caCertPath`, or `certPath`); otherwise a CA is made.
     */
    tls?: CaFiles | ServerTlsFiles;
    /** Emulators sharing it restore each other's backups; default: random (kept in the data file). */
    backupKey?: string;
    /** Per-vault limits (default 4000 operations and 300 creations per 10 s); `false` = off. */
    throttle?: Partial<ThrottleLimits> | false;
    /** Added to every vault response, in ms. */
    latencyMs?: number;
    /** Region reported in headers and 403 messages (default "local"). */
    region?: string;
    /**
     * The service's eventual consistency, off by default: a deleted secret answers 404 on
     * get-deleted/recover/purge for `deleteMs`, and a purged name answers 409 on set/restore for `purgeMs`.
     */
    lag?: Lag;
    /**
     * Backup of a certificate's own key or secret: "refuse" (default: 403 KeyManagedByKeyVault /
     * SecretManagedByKeyVault, a guess — no public source records it) or "allow". Overrides the seed's.
     */
    managedBackup?: "refuse" | "allow";
    /** A self-signed certificate's creation completes this many ms after the create request (default 0: at once). */
    certificateDelayMs?: number;
}

/** A server certificate (PEM chain) and its key, used as given. */
export interface ServerTlsFiles {
    certPath: string;
    keyPath: string;
    /** What clients should trust (printed as caCertPath); default `certPath`. */
    caCertPath?: string;
}

/** The in-process fault controls (the admin endpoint offers the same). */
export interface FaultControls {
    add(spec: FaultSpec): void;
    clear(): void;
    setLatency(ms: number): void;
    setThrottle(limits: Partial<ThrottleLimits> | false): void;
    /** Stops the vaults' clock at `ms` since the epoch (`null`: real time again); see `Faults.setClock`. */
    setClock(ms: number | null): void;
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
    /** Every vault request so far (a copy), oldest first; only the newest 200,000 are kept. */
    requests(): RequestRecord[];
    /** Signs a token as the Entra stand-in would (for tests of wrong audience, issuer, expiry). */
    mintToken(principalIndex: number, options?: MintOptions): Promise<string>;
    /** Stops every server and drops open connections; safe to call twice. */
    close(): Promise<void>;
}

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
    if (store.isNew) await seedCertificates(state, seed);
    for (const name of vaultNames ?? []) if (!state.vaults[name]) state.vaults[name] = newVault(name);
    if (options.backupKey && options.backupKey !== state.backupKey) state.backupKey = options.backupKey;
    store.save();

    for (const [name, h] of Object.entries(options.vaultHosts ?? {})) {
        if (!/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h)) {
            throw new Error(`vault "${name}": "${h}" is not a host name`);
        }
    }
    const tls = await serverTls(options, host);
    const entra = await Entra.create(state.tenantId, () => state.principals);
    const faults = new Faults(options.throttle, options.latencyMs ?? 0);
    const log: RequestRecord[] = [];
    const servers: https.Server[] = [];
    let phase: "starting" | "running" | "closing" | "closed" = "starting";

    const authority = https.createServer({ cert: tls.certPem, key: tls.keyPem });
    servers.push(authority);
    const authorityPort = options.port !== undefined || state.authorityPort === undefined
        ? await listenOrCleanUp(authority, host, options.port ?? 0)
        : await listen(authority, host, state.authorityPort).catch(() => listenOrCleanUp(authority, host, 0));
    state.authorityPort = authorityPort;
    const authorityHost = `https://${urlHost}:${authorityPort}`;
    authority.on("request", (req: IncomingMessage, res: ServerResponse) => {
        void (async () => {
            const body = await readBody(req);
            if (!(await entra.handle(req, res, body, authorityHost))) handleAdmin(req, res, body, faults, log);
        })().catch((e: Error) => sendJson(res, 500, { error: e.message }));
    });

    const deps: VaultDeps = {
        store,
        entra,
        codec: new BackupCodec(state.backupKey),
        faults,
        log,
        region,
        challenge: challengeFor(authorityHost, state.tenantId),
        lag: options.lag,
        managedBackup: options.managedBackup,
        certificateDelayMs: options.certificateDelayMs,
        running: () => phase === "running",
    };
    const vaults: Record<string, string> = {};
    for (const [name, vault] of Object.entries(state.vaults)) {
        const server = https.createServer({ cert: tls.certPem, key: tls.keyPem });
        servers.push(server);
        const wanted = options.vaultPorts?.[name];
        const port = wanted !== undefined
            ? await listenOrCleanUp(server, host, wanted)
            : await listen(server, host, vault.port ?? 0).catch(() => listenOrCleanUp(server, host, 0));
        vault.port = port;
        const vaultHost = options.vaultHosts?.[name];
        vaults[name] = vaultHost ? `https://${vaultHost}${port === 443 ? "" : `:${port}`}` : `https://${urlHost}:${port}`;
        server.on("request", vaultHandler(deps, name, vaults[name]));
    }
    store.save();

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
            setClock: (ms) => faults.setClock(ms),
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
    const hosts = [
        "localhost", "127.0.0.1", "::1",
        ...(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"].includes(host) ? [] : [host]),
        ...Object.values(options.vaultHosts ?? {}),
    ];
    if (options.tls && "certPath" in options.tls) {
        const files = options.tls;
        const read = (p: string, what: string) => {
            try {
                return fs.readFileSync(p, "utf8");
            } catch (e) {
                throw new Error(`cannot read the emulator's ${what} at ${p}: ${(e as Error).message}`);
            }
        };
        return { certPem: read(files.certPath, "server certificate"), keyPem: read(files.keyPath, "server key"), caCertPath: files.caCertPath ?? files.certPath, cleanup: () => undefined };
    }
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


/** The state type, re-exported for tools that read the data file. */
export type { EmulatorState };
