import { strict as assert } from "node:assert";
import * as https from "node:https";
import * as net from "node:net";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import type { RunningEmulator } from "../../emulator";
import { credentialFor, secretClientFor, startTestEmulator } from "../helpers/emulator";
import { tally, waitFor, watchEmulator, watchSecret } from "./support";

// The emulator under load: 10,000 Get Secret requests from 32 concurrent clients (raw HTTPS over
// keep-alive connections, each with a real bearer token from the emulator's token endpoint). The
// throttle allows 6,000 operations in a window longer than the run, so exactly 4,000 must be 429.
const VAULT = "loadvault";
const REQUESTS = 10_000;
const CLIENTS = 32;
const SECRETS = 50;
const LIMIT = 6_000;
/** Heap growth allowed across the run: the 10,000-entry request log and throttle window stay well under it. */
const HEAP_BOUND_MB = 48;

interface Answer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

function get(agent: https.Agent, base: string, path: string, token: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = https.get(`${base}${path}`, { agent, headers: { authorization: `Bearer ${token}` }, timeout: 30_000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", reject);
    });
}

/** `gc()`, exposed for this measurement only. */
function collector(): () => void {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
}

function heapMb(gc: () => void): number {
    gc();
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
}

function refuses(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), resolve(false)));
        socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
    });
}

describe("reliability: the emulator under load", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator | undefined;
    after(async () => emulator?.close());

    it("answers 10,000 requests from 32 clients correctly, throttles exactly as configured, stays bounded in memory and shuts down cleanly", async () => {
        const gc = collector();
        emulator = await startTestEmulator({ vaults: [VAULT] });
        watchEmulator(emulator);
        const base = emulator.vaults[VAULT];
        const values = new Map<string, string>();
        const client = secretClientFor(emulator, VAULT);
        for (let i = 0; i < SECRETS; i++) {
            const name = `load-${i}`;
            values.set(name, `load-value-${i}-${Math.random().toString(36).slice(2)}`);
            await client.setSecret(name, values.get(name)!);
        }
        for (const v of values.values()) watchSecret("load secret value", v);
        const token = (await credentialFor(emulator).getToken("https://vault.azure.net/.default"))!.token;
        watchSecret("vault token used by the load clients", token);

        // Warm up (connections, JIT) before the baseline, then count from a fresh window.
        const warm = new https.Agent({ keepAlive: true, maxSockets: CLIENTS });
        await Promise.all(Array.from({ length: 200 }, (_, i) => get(warm, base, `/secrets/load-${i % SECRETS}?api-version=7.4`, token)));
        warm.destroy();
        const heapBefore = heapMb(gc);
        const logBefore = emulator.requests().length;
        emulator.faults.setThrottle({ operations: LIMIT, creations: 300, windowMs: 10 * 60_000 });

        const agent = new https.Agent({ keepAlive: true, maxSockets: CLIENTS });
        let next = 0;
        let ok = 0;
        let throttled = 0;
        const wrong: string[] = [];
        const started = Date.now();
        await Promise.all(Array.from({ length: CLIENTS }, async () => {
            for (let i = next++; i < REQUESTS; i = next++) {
                const name = `load-${i % SECRETS}`;
                const answer = await get(agent, base, `/secrets/${name}?api-version=7.4`, token);
                if (answer.status === 200) {
                    const body = JSON.parse(answer.body) as { value?: string; id?: string };
                    if (body.value === values.get(name) && body.id?.startsWith(`${base}/secrets/${name}/`)) ok++;
                    else wrong.push(`200 with the wrong secret for ${name}`);
                } else if (answer.status === 429) {
                    const code = (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
                    if (code === "Throttled" && answer.headers["retry-after"] === undefined) throttled++;
                    else wrong.push(`429 with code ${code} and Retry-After ${String(answer.headers["retry-after"])}`);
                } else wrong.push(`status ${answer.status}: ${answer.body.slice(0, 200)}`);
            }
        }));
        const seconds = (Date.now() - started) / 1000;
        agent.destroy();
        const heapAfter = heapMb(gc);

        assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} wrong answers`);
        assert.ok(seconds * 1000 < 10 * 60_000, "the run fits in one throttle window");
        assert.equal(ok, LIMIT, "exactly the window's budget was served");
        assert.equal(throttled, REQUESTS - LIMIT, "every request over the budget was refused with 429");
        const logged = emulator.requests().slice(logBefore);
        assert.equal(logged.length, REQUESTS, "the request log holds every request");
        assert.equal(logged.filter((r) => r.status === 429).length, REQUESTS - LIMIT);
        const growth = heapAfter - heapBefore;
        assert.ok(growth < HEAP_BOUND_MB, `heap grew ${growth.toFixed(1)} MB (bound ${HEAP_BOUND_MB} MB)`);

        // Close with a request still waiting on the vault: close() resolves and every port refuses.
        emulator.faults.setThrottle(false);
        emulator.faults.add({ vault: VAULT, kind: "delay", ms: 10_000, count: 1 });
        const logAtClose = emulator.requests().length;
        const inFlight = get(new https.Agent(), base, `/secrets/load-0?api-version=7.4`, token).then(() => "answered", () => "cut off");
        const running = emulator;
        await waitFor("the request to reach the vault (in flight: status 0 in the request log)", () =>
            running.requests().slice(logAtClose).some((r) => r.path === "/secrets/load-0" && r.status === 0), 5_000);
        const closeStarted = Date.now();
        await emulator.close();
        const closeMs = Date.now() - closeStarted;
        assert.ok(closeMs < 5_000, `close() took ${closeMs} ms`);
        assert.equal(await inFlight, "cut off", "the waiting request was ended by close()");
        const ports = [Number(new URL(base).port), Number(new URL(emulator.authorityHost).port)];
        for (const port of ports) assert.ok(await refuses(port), `port ${port} refuses connections after close()`);

        tally.load = { requests: REQUESTS, clients: CLIENTS, ok, throttled, expectedThrottled: REQUESTS - LIMIT, wrong: wrong.length, seconds, heapGrowthMb: growth };
        process.stdout.write(`      (${REQUESTS} requests in ${seconds.toFixed(1)} s = ${Math.round(REQUESTS / seconds)}/s; ${ok} ok, ${throttled} throttled; heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MB; close ${closeMs} ms)\n`);
    });
});
