/**
 * A TCP forwarder that gives the demo's vault the same address on every run. The emulator picks a
 * new port per start, but a vault's URL is an input of `SecretBackup`, and a real vault's URL never
 * changes; without this the second run would see a "new vault" and back everything up again.
 * TLS passes through untouched: the client still verifies the emulator's certificate.
 */
import * as net from "node:net";

/** A running forwarder; `close()` stops it and drops its connections. */
export interface Forwarder {
    port: number;
    close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = any; a busy port falls back to any) and forwards to `target`. */
export async function forward(port: number, target: { host: string; port: number }): Promise<Forwarder> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((inbound) => {
        const outbound = net.connect(target.port, target.host);
        for (const s of [inbound, outbound]) {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
            s.on("error", () => (inbound.destroy(), outbound.destroy()));
        }
        inbound.pipe(outbound).pipe(inbound);
    });
    const listen = (p: number): Promise<number> =>
        new Promise((resolve, reject) => {
            server.once("error", reject);
            server.listen(p, "127.0.0.1", () => {
                server.off("error", reject);
                resolve((server.address() as net.AddressInfo).port);
            });
        });
    const bound = await listen(port).catch((e: NodeJS.ErrnoException) => {
        if (port !== 0 && e.code === "EADDRINUSE") return listen(0);
        throw e;
    });
    return {
        port: bound,
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}
