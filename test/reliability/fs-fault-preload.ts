/**
 * Loaded into the provider host with `NODE_OPTIONS=--require <this file>` to make the disk misbehave
 * for files opened for exclusive creation (how the file destination writes its temporary file)
 * under a folder:
 * - `RELIABILITY_ENOSPC_DIR`: half of the first write lands, then ENOSPC, as on a full disk;
 * - `RELIABILITY_SLOW_WRITE_DIR`: half lands, then the write stalls for a minute, so a test can
 *   kill the host while a partial temporary file is on disk.
 * sinon, because nothing real fills or stalls a disk on demand.
 */
import * as fs from "node:fs";
import sinon from "sinon";

const full = process.env.RELIABILITY_ENOSPC_DIR;
const slow = process.env.RELIABILITY_SLOW_WRITE_DIR;
if (full || slow) {
    const realOpen = fs.promises.open.bind(fs.promises);
    sinon.stub(fs.promises, "open").callsFake(async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
        const handle = await realOpen(file, flags, mode);
        const under = (dir: string | undefined) => dir !== undefined && String(flags).startsWith("wx") && String(file).startsWith(dir);
        if (under(full) || under(slow)) {
            handle.writeFile = async (data: unknown) => {
                const bytes = data as Uint8Array;
                await handle.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
                if (under(slow)) await new Promise((r) => setTimeout(r, 60_000));
                throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: "ENOSPC", errno: -28, syscall: "write" });
            };
        }
        return handle;
    });
}
