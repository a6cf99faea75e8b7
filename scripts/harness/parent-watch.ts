/**
 * Preloaded (`node --require parent-watch.js`) into the processes the harness starts: the
 * dynamic-provider host and the program runner. Each runs detached, in its own process group, so
 * a `kill -9` of the harness (which cannot clean up) would leave them running for good. This
 * notices that the harness is gone and ends the process.
 *
 * It is a parent-death check, not a closed-stdin check: the harness's parent pid comes in
 * `PARENT_PID_ENV` and is compared with `process.ppid` (read afresh by Node on every access) every
 * `POLL_MS`; when the parent dies the process is re-parented (to init or a subreaper) and exits
 * with `ORPHAN_EXIT_CODE`. The timer is unref'd, so it never keeps a process alive. Only the harness
 * loads it: under the real Pulumi CLI the host is started by the engine's plugin wrapper, which
 * neither sets the variable nor preloads this file, so nothing changes there.
 */

import { PARENT_PID_ENV } from "./process-group";

/** How often the parent is looked at, in ms. */
export const POLL_MS = 200;
/** The exit code of a process that ended because its parent was gone (128 + SIGHUP, as a hang-up would give). */
export const ORPHAN_EXIT_CODE = 129;

const expected = Number(process.env[PARENT_PID_ENV]);
// Not for the process's own children: they are started by it, not by the harness.
delete process.env[PARENT_PID_ENV];

if (Number.isInteger(expected) && expected > 0) {
    const check = (): void => {
        if (process.ppid === expected) return;
        try {
            process.stderr.write(`parent process ${expected} is gone: exiting\n`);
        } catch {
            // stderr went with the parent.
        }
        process.exit(ORPHAN_EXIT_CODE);
    };
    check();
    setInterval(check, POLL_MS).unref();
}
