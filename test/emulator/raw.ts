/** A bare HTTPS client for tests that must see exactly what the emulator sends (status, headers, body). */
import * as https from "node:https";

/** A response as it came off the wire. */
export interface RawResponse {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Sends one request (TLS verified against NODE_EXTRA_CA_CERTS) and reads the whole answer. A `host`
 * header other than the URL's is sent as is, while TLS still verifies the emulator's certificate
 * for `servername` (default `localhost`).
 */
export function rawRequest(
    url: string,
    options: { method?: string; token?: string; body?: unknown; headers?: Record<string, string>; servername?: string } = {},
): Promise<RawResponse> {
    const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
        const req = https.request(
            url,
            {
                method: options.method ?? "GET",
                ...(options.servername ? { servername: options.servername } : options.headers?.host ? { servername: "localhost" } : {}),
                headers: {
                    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
                    ...(payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
                    ...options.headers,
                },
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let json: unknown;
                    try {
                        json = text ? JSON.parse(text) : undefined;
                    } catch {
                        json = undefined;
                    }
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
                });
                res.on("error", reject);
            },
        );
        req.on("error", reject);
        req.end(payload);
    });
}
