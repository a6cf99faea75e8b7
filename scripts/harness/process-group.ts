/**
 * Signalling children started with `detached: true` (each leads its own process group), and making
 * sure none outlives this process: the provider host and the program runner run in their own
 * groups so a terminal's Ctrl-C does not reach them directly; this process stops them instead.
 */

/** Sends `signal` to the whole process group led by `pid`; a group already gone (ESRCH) is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
}

/** The environment variable through which a detached child learns the pid it must not outlive (see parent-watch.ts). */
export const PARENT_PID_ENV = "PULUMI_HARNESS_PARENT_PID";

const liveGroups = new Set<number>();
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
/** The shell's convention: 128 + the signal's number. */
const EXIT_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

function killAll(): void {
    for (const pid of liveGroups) signalGroup(pid, "SIGKILL");
    liveGroups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
    // Ours is the only handler that ends the process; stop the groups, then exit as the signal
    // would have (the handler's presence suppressed the default action).
    for (const pid of liveGroups) signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + 2000;
    const poll = (): void => {
        const alive = [...liveGroups].filter((pid) => {
            try {
                process.kill(-pid, 0);
                return true;
            } catch {
                return false;
            }
        });
        if (alive.length && Date.now() < deadline) {
            setTimeout(poll, 50);
            return;
        }
        killAll();
        process.exit(EXIT_CODES[signal] ?? 1);
    };
    poll();
}

let installed = false;
function install(): void {
    if (installed) return;
    installed = true;
    // If this process exits (e.g. a test runner calling process.exit) with groups still up, stop them.
    process.on("exit", killAll);
    for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
    if (!installed) return;
    installed = false;
    process.off("exit", killAll);
    for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Records a detached child's group: until `untrackGroup`, this process's exit kills it, and
 * SIGINT/SIGTERM/SIGHUP stop it (SIGTERM, SIGKILL after 2 s) and then end this process with
 * 128 + the signal's number. While no group is tracked the signals keep their default action.
 */
export function trackGroup(pid: number): void {
    liveGroups.add(pid);
    install();
}

/** Forgets a group (it has exited or been stopped). */
export function untrackGroup(pid: number): void {
    liveGroups.delete(pid);
    if (!liveGroups.size) uninstall();
}
