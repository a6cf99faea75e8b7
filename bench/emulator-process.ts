/**
 * The emulator in its own process (the `keyvault-emulator` CLI, as a user runs it), so the bulk
 * runs can measure its CPU apart from the bench's own (the engine side of gRPC) and profile it.
 * Controlled over its admin endpoint; TLS stays verified (this process trusts the bench CA).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import type { RunningEmulator, RequestRecord } from "../emulator";
import type { ThrottleLimits } from "../emulator/faults";
import { benchCa, benchSeed, repoRoot, scratchDir } from "./setup";

/** A running emulator process: the CLI's ready line, its pid, and its admin controls. */
export interface EmulatorProcess extends Pick<RunningEmulator, "vaults" | "caCertPath" | "authorityHost" | "tenantId" | "principals" | "adminUrl"> {
    pid: number;
    /** Sets the latency added to every vault answer (`PUT /admin/latency`). */
    setLatency(ms: number): Promise<void>;
    /** Sets the per-vault limits and restarts the windows (`PUT /admin/throttle`). */
    setThrottle(limits: Partial<ThrottleLimits>): Promise<void>;
    /** The request log (`GET /admin/requests`). */
    requests(): Promise<RequestRecord[]>;
    /** SIGTERM (the CLI closes its servers and exits, writing a CPU profile when one was asked for); resolves once it exited. */
    close(): Promise<void>;
}

/**
 * Starts `dist/emulator/cli.js` seeded with the bench's secrets, its certificate issued from the
 * bench CA, Key Vault's default limits. `env` is added to its environment (e.g. `NODE_OPTIONS`
 * asking for a CPU profile).
 */
export async function startEmulatorProcess(env: Record<string, string> = {}): Promise<EmulatorProcess> {
    const ca = await benchCa();
    fs.mkdirSync(scratchDir, { recursive: true });
    const seedFile = path.join(scratchDir, "emulator-seed.json");
    fs.writeFileSync(seedFile, JSON.stringify(benchSeed()));
    const cli = path.join(repoRoot, "dist", "emulator", "cli.js");
    const child = spawn(process.execPath, [cli, "--seed", seedFile, "--ca-cert", ca.caCertPath, "--ca-key", ca.caKeyPath], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...env },
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
        const ready = await readyLine(child);
        const admin = (method: string, what: string, body?: unknown) => adminCall(`${ready.adminUrl}/${what}`, method, body);
        return {
            ...ready,
            pid: child.pid ?? -1,
            setLatency: async (ms) => void (await admin("PUT", "latency", { ms })),
            setThrottle: async (limits) => void (await admin("PUT", "throttle", limits)),
            requests: async () => JSON.parse(await admin("GET", "requests")) as RequestRecord[],
            close: async () => {
                if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
                const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
                await exited;
                clearTimeout(killer);
            },
        };
    } catch (e) {
        child.kill("SIGKILL");
        await exited;
        throw e;
    }
}

// One connection per call (no keep-alive): the bench may block its event loop for seconds (making
// a big folder), after which a kept connection may already be closed by the server.
function adminCall(url: string, method: string, body?: unknown): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = https.request(url, { method, agent: false }, (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (c: string) => (text += c));
            res.on("end", () => ((res.statusCode ?? 0) < 300 ? resolve(text) : reject(new Error(`emulator admin ${method} ${url}: ${res.statusCode} ${text}`))));
            res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
    });
}

type ReadyLine = Omit<EmulatorProcess, "pid" | "setLatency" | "setThrottle" | "requests" | "close">;

function readyLine(child: ChildProcess): Promise<ReadyLine> {
    return new Promise((resolve, reject) => {
        let out = "";
        let err = "";
        const timer = setTimeout(() => reject(new Error(`the emulator printed no ready line within 30 s: ${err}`)), 30_000);
        child.stderr?.setEncoding("utf8").on("data", (c: string) => (err += c));
        child.stdout?.setEncoding("utf8").on("data", (c: string) => {
            out += c;
            const nl = out.indexOf("\n");
            if (nl < 0) return;
            clearTimeout(timer);
            try {
                resolve(JSON.parse(out.slice(0, nl)) as ReadyLine);
            } catch (e) {
                reject(new Error(`the emulator's ready line is not JSON: ${out.slice(0, nl)}`));
            }
        });
        child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`the emulator exited (${code}) before it was ready: ${err}`))));
    });
}
