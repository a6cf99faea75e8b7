/**
 * Preloaded (`NODE_OPTIONS=--require ...`, since Node refuses `--cpu-prof` there) into a profiled
 * child: starts the V8 sampling profiler at once and, when the process gets SIGTERM (how the bench
 * stops hosts and the emulator), writes `<pid>.cpuprofile` into `BENCH_CPU_PROFILE_DIR` and exits.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Session } from "node:inspector";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
    const session = new Session();
    session.connect();
    session.post("Profiler.enable", () => session.post("Profiler.start"));
    process.once("SIGTERM", () => {
        session.post("Profiler.stop", (error, result) => {
            if (!error) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
            process.exit(0);
        });
    });
}
