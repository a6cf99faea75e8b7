/**
 * Starts Azurite's Blob service for tests the way the tests need it: on 127.0.0.1, a free port,
 * HTTPS with a certificate from the test CA (which the test process trusts through
 * NODE_EXTRA_CA_CERTS), OAuth "basic" (bearer tokens required and checked for audience, issuer
 * and lifetime), data in memory, in its own process group so `stop()` leaves nothing running.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { ChildProcess, spawn } from "node:child_process";
import { issueServerCertificate, loadOrCreateCa } from "../../emulator/tls";
import { signalGroup } from "../../scripts/harness/process-group";
import { scratchRoot, testCaDir } from "./paths";

/** Azurite's built-in account; the only one it has unless AZURITE_ACCOUNTS says otherwise. */
export const AZURITE_ACCOUNT = "devstoreaccount1";

/** A running Azurite Blob service. */
export interface RunningAzurite {
    /** `https://127.0.0.1:<port>` */
    url: string;
    /** `https://127.0.0.1:<port>/devstoreaccount1`, the account URL in path style. */
    accountUrl: string;
    account: string;
    port: number;
    /** Milliseconds from spawn to the first answered request. */
    startupMs: number;
    /** Stops the process group and removes the working folder; safe to call twice. */
    stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/** How to start Azurite. */
export interface AzuriteOptions {
    /**
     * Runs Azurite's clock this many ms ahead (sinon's clock, preloaded): every token the emulator
     * issues then looks expired to it, so it answers 403 AuthenticationFailed, as Storage does to a
     * machine whose clock is wrong.
     */
    clockSkewMs?: number;
}

/** Starts Azurite; rejects with its output if it does not answer within 30 s. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
    const started = Date.now();
    fs.mkdirSync(scratchRoot, { recursive: true });
    const dir = fs.mkdtempSync(path.join(scratchRoot, "azurite-"));
    const cert = await issueServerCertificate(await loadOrCreateCa(testCaDir));
    fs.writeFileSync(path.join(dir, "cert.pem"), cert.certPem);
    fs.writeFileSync(path.join(dir, "key.pem"), cert.keyPem, { mode: 0o600 });
    const child = spawn(process.execPath, [require.resolve("azurite/dist/src/blob/main.js"), ...azuriteArgs(dir)], {
        cwd: dir,
        env: options.clockSkewMs ? clockSkewEnv(options.clockSkewMs) : process.env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    child.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
    child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    const stop = stopper(child, dir);
    try {
        const url = await listeningUrl(child, output);
        await pollUntilAnswering(url, child, output);
        const port = Number(new URL(url).port);
        return { url, accountUrl: `${url}/${AZURITE_ACCOUNT}`, account: AZURITE_ACCOUNT, port, startupMs: Date.now() - started, stop };
    } catch (e) {
        await stop();
        throw e;
    }
}

function clockSkewEnv(ms: number): NodeJS.ProcessEnv {
    const preload = path.join(__dirname, "..", "reliability", "clock-skew-preload.js");
    return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${preload}`.trim(), RELIABILITY_CLOCK_SKEW_MS: String(ms) };
}

function azuriteArgs(dir: string): string[] {
    return [
        "--blobHost", "127.0.0.1",
        "--blobPort", "0",
        "--cert", path.join(dir, "cert.pem"),
        "--key", path.join(dir, "key.pem"),
        "--oauth", "basic",
        "--inMemoryPersistence",
        "--extentMemoryLimit", "256",
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
        "--disableTelemetry",
    ];
}

/** Azurite prints its real address (port 0 resolved) once listening. */
function listeningUrl(child: ChildProcess, output: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(new Error(`Azurite did not start in ${READY_TIMEOUT_MS} ms:\n${output.join("")}`)), READY_TIMEOUT_MS);
        const onData = () => {
            const m = /successfully listens on (https:\/\/127\.0\.0\.1:\d+)/.exec(output.join(""));
            if (m) finish(() => resolve(m[1]));
        };
        const onExit = (code: number | null) => fail(new Error(`Azurite exited (code ${code}) before listening:\n${output.join("")}`));
        const finish = (f: () => void) => {
            clearTimeout(timer);
            child.stdout!.off("data", onData);
            child.off("exit", onExit);
            f();
        };
        const fail = (e: Error) => finish(() => reject(e));
        child.stdout!.on("data", onData);
        child.once("exit", onExit);
        onData();
    });
}

/** Any HTTP answer (Azurite answers an anonymous list with an error) means it serves requests over TLS we trust. */
async function pollUntilAnswering(url: string, child: ChildProcess, output: string[]): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last: unknown;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`Azurite exited (code ${child.exitCode}):\n${output.join("")}`);
        try {
            await answerStatus(`${url}/${AZURITE_ACCOUNT}?comp=list`);
            return;
        } catch (e) {
            last = e;
            await new Promise((r) => setTimeout(r, 50));
        }
    }
    throw new Error(`Azurite at ${url} did not answer in ${READY_TIMEOUT_MS} ms: ${(last as Error)?.message}\n${output.join("")}`);
}

function answerStatus(url: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = https.get(url, { agent: false, timeout: 2000 }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", reject);
    });
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
    let stopping: Promise<void> | undefined;
    return () => {
        stopping ??= (async () => {
            if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise<void>((r) => child.once("exit", () => r()));
                signalGroup(child.pid!, "SIGTERM");
                const timer = setTimeout(() => signalGroup(child.pid!, "SIGKILL"), 5000);
                await exited;
                clearTimeout(timer);
            }
            fs.rmSync(dir, { recursive: true, force: true });
        })();
        return stopping;
    };
}
