/** Small HTTP helpers shared by the emulator's servers: read a body, write JSON, split the URL. */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Reads the whole request body, up to `limit` bytes; rejects beyond that so a runaway client cannot fill memory. */
export function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > limit) {
                reject(new Error(`request body larger than ${limit} bytes`));
                req.destroy();
                return;
            }
            chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks)));
        req.on("error", reject);
    });
}

/** Writes `body` as compact JSON (or nothing for `undefined`) with Key Vault's content type. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
        ...headers,
        ...(text ? { "content-type": "application/json; charset=utf-8" } : {}),
        "content-length": Buffer.byteLength(text),
    });
    res.end(text);
}

/** The request's path, without the query string. */
export function pathOf(req: IncomingMessage): string {
    return (req.url ?? "/").split("?")[0];
}

/** Parses a query string, decoding keys too (the SDK sends `api%2Dversion`). */
export function parseQuery(url: string): Map<string, string> {
    const q = new Map<string, string>();
    const at = url.indexOf("?");
    if (at < 0) return q;
    for (const [k, v] of new URLSearchParams(url.slice(at + 1))) q.set(k.toLowerCase(), v);
    return q;
}

/** An operation's answer with its own status and headers (certificate create's 202 with Location and Retry-After). */
export class Reply {
    constructor(
        readonly status: number,
        readonly body: unknown,
        readonly headers: Record<string, string> = {},
    ) {}
}
