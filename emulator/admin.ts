/**
 * The admin endpoint on the authority server (`{adminUrl}/...`), which SDK clients never call:
 * scripted faults, latency, throttle limits, the vaults' clock and the request log, for tests and tools.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Faults, FaultSpec, ThrottleLimits } from "./faults";
import { pathOf, sendJson } from "./http";
import type { RequestRecord } from "./vault-handler";

/** Answers one admin request; bad input is 400 with a message naming the field. */
export function handleAdmin(req: IncomingMessage, res: ServerResponse, body: Buffer, faults: Faults, log: RequestRecord[]): void {
    const path = pathOf(req);
    const json = (): unknown => JSON.parse(body.toString("utf8") || "null");
    try {
        if (path === "/admin/faults" && req.method === "POST") {
            const parsed = json();
            for (const spec of Array.isArray(parsed) ? parsed : [parsed]) faults.add(spec as FaultSpec); // add() validates it
            return sendJson(res, 204, undefined);
        }
        if (path === "/admin/faults" && req.method === "DELETE") {
            faults.clear();
            return sendJson(res, 204, undefined);
        }
        if (path === "/admin/latency" && req.method === "PUT") {
            faults.setLatency((json() as { ms: number } | null)?.ms ?? NaN);
            return sendJson(res, 204, undefined);
        }
        if (path === "/admin/throttle" && req.method === "PUT") {
            faults.setThrottle(json() as Partial<ThrottleLimits> | false);
            return sendJson(res, 204, undefined);
        }
        if (path === "/admin/clock" && req.method === "PUT") {
            const at = (json() as { frozenAt?: number | null } | null)?.frozenAt;
            faults.setClock(at === undefined ? NaN : at);
            return sendJson(res, 204, undefined);
        }
        if (path === "/admin/requests" && req.method === "GET") return sendJson(res, 200, log);
    } catch (e) {
        return sendJson(res, 400, { error: (e as Error).message });
    }
    sendJson(res, 404, { error: `no such endpoint: ${req.method} ${path}` });
}
