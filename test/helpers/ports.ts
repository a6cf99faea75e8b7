/**
 * A loopback port that nothing listens on once this resolves: bound on 127.0.0.1 port 0, then
 * released. Tests use it for "nothing listening" (ECONNREFUSED) and to pin a free port up front.
 */
import * as net from "node:net";

/** Binds 127.0.0.1:0, releases it and resolves with the port it got. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
