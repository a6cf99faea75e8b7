/** Writing a file so that readers see the old content or the new, never a half-written one. */
import * as fs from "node:fs";

/**
 * Writes `text` to `file` through a temporary file in the same folder (created with `mode`,
 * fsynced, then renamed over `file`). On failure the temporary file is removed, since what the
 * emulator writes (state with secret values, a CA key) must not linger half-written.
 */
export function writeFileAtomic(file: string, text: string, mode: number): void {
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
        const fd = fs.openSync(tmp, "w", mode);
        try {
            fs.writeSync(fd, text);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}
