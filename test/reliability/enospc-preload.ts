/**
 * Loaded into the provider host with `NODE_OPTIONS=--require <this file>` to make a disk look full:
 * a file opened for exclusive creation (the way the file destination writes its temporary file)
 * under `RELIABILITY_ENOSPC_DIR` takes half of the first write and then fails with ENOSPC, as a
 * full disk does. sinon, because nothing real fills a disk on demand.
 */
import * as fs from "node:fs";
import sinon from "sinon";

const dir = process.env.RELIABILITY_ENOSPC_DIR;
if (dir) {
    const realOpen = fs.promises.open.bind(fs.promises);
    sinon.stub(fs.promises, "open").callsFake(async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
        const handle = await realOpen(file, flags, mode);
        if (flags === "wx" && String(file).startsWith(dir)) {
            handle.writeFile = async (data: unknown) => {
                const bytes = data as Uint8Array;
                await handle.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
                throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: "ENOSPC", errno: -28, syscall: "write" });
            };
        }
        return handle;
    });
}
