/** Signalling a child started with `detached: true`, which leads its own process group. */

/** Sends `signal` to the whole process group led by `pid`; a group already gone (ESRCH) is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
}
