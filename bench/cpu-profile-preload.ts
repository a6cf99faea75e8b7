/**
 * Preloaded (`NODE_OPTIONS=--require ...`, since Node refuses `--cpu-prof` there) into a profiled
 * child: SIGUSR2 starts the V8 sampling profiler (the bench sends it after the warm-up, so the
 * profile holds the measured part only), SIGTERM (how the bench stops hosts and the emulator)
 * writes `<pid>.cpuprofile` into `BENCH_CPU_PROFILE_DIR` and exits.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Session } from "node:inspector";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
    const session = new Session();
    session.connect();
    let started = false;
    process.on("SIGUSR2", () => {
        if (started) return;
        started = true;
        session.post("Profiler.enable", () => session.post("Profiler.start"));
    });
    process.once("SIGTERM", () => {
        if (!started) process.exit(0);
        session.post("Profiler.stop", (error, result) => {
            if (!error) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
            process.exit(0);
        });
    });
}
