/**
 * The provider-host harness for tests: re-exports `scripts/harness` (the real dynamic-provider
 * host over gRPC, and `LocalEngine`, a stand-in for the engine) and adds test assertions.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { OperationResult } from "../../scripts/harness/engine";

export { ProviderHost, HostCallError, HostOptions, CheckResult, DiffResult } from "../../scripts/harness/host";
export { LocalEngine, LocalEngineOptions, OperationResult, Step, StackState, ResourceState } from "../../scripts/harness/engine";
export { Diagnostic } from "../../scripts/harness/monitor";
export { UNKNOWN, SIG_KEY, SECRET_SIG, stripSecrets } from "../../scripts/harness/wire";

/** Asserts that no process of `pid`'s process group is left (the host and anything it started). */
export function assertGone(pid: number): void {
    assert.throws(() => process.kill(-pid, 0), (e: NodeJS.ErrnoException) => e.code === "ESRCH", `process group ${pid} is still alive`);
}

/** Waits (up to `timeoutMs`) for `pid`'s process group to be gone, then asserts it is. */
export async function waitGone(pid: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && groupAlive(pid)) await new Promise((r) => setTimeout(r, 50));
    assertGone(pid);
}

function groupAlive(pid: number): boolean {
    try {
        process.kill(-pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** The operations done to dynamic resources, in order (the stack's own component left out). */
export function dynamicOps(result: OperationResult): string[] {
    return result.steps.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic/")).map((s) => s.op);
}

/** Pids of `parent`'s child processes whose command line contains `needle` (read from /proc). */
export function childPids(parent: number, needle: string): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            if (ppid === parent && fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
        } catch {
            // The process ended while we looked.
        }
    }
    return pids;
}

/** Polls `condition` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}
