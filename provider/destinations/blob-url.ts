/**
 * Pure parsing of Blob Storage URLs: the `destination` a user writes
 * (`https://<account>.blob.core.windows.net/<container>/<optional prefix>`) and the `location` of
 * a written backup. No I/O, so `check` can call it during preview.
 *
 * Accepted hosts: the public, China and US Government clouds' blob endpoints, Azure DNS-zone
 * endpoints (`<account>.z12.blob.storage.azure.net`), and loopback hosts (127.0.0.0/8,
 * `localhost`, `[::1]`: the same rule as vault URLs) in Azurite's path style, where the account is
 * the first path segment.
 */
import { isLoopbackHost } from "../validate";

/** Where backups go: the account endpoint, the account and container names, and a blob-name prefix. */
export interface BlobDestinationAddress {
    /** `https://<account>.blob.core.windows.net`, or `https://127.0.0.1:<port>/<account>` for Azurite. */
    accountUrl: string;
    account: string;
    container: string;
    /** Decoded blob-name prefix, empty or ending in `/`, e.g. `prod/keyvault/`. */
    prefix: string;
}

/** One backup blob: its account endpoint, account, container and full (decoded) blob name. */
export interface BlobLocation {
    accountUrl: string;
    account: string;
    container: string;
    blobName: string;
}

/** Either the parsed value or a reason, fit for a `check` failure, why the URL is unusable. */
export type Parsed<T> = ({ ok: true } & T) | { ok: false; reason: string };

const CLOUD_HOSTS = [
    /^([^.]+)\.blob\.core\.windows\.net$/,
    /^([^.]+)\.blob\.core\.chinacloudapi\.cn$/,
    /^([^.]+)\.blob\.core\.usgovcloudapi\.net$/,
    /^([^.]+)\.z\d{2}\.blob\.storage\.azure\.net$/,
];
const ACCOUNT = /^[a-z0-9]{3,24}$/;
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
/** Leaves room under Storage's 1024-character blob-name limit for the backup's own name. */
const MAX_PREFIX = 900;
const EXAMPLE = "https://<account>.blob.core.windows.net/<container>/<optional prefix>";

/**
 * Whether a destination string is meant as a URL (and so as Blob Storage) rather than a folder:
 * anything starting with `http://` or `https://`. A malformed URL is still routed here so that it
 * gets a URL-specific reason instead of becoming a folder named `https:`.
 */
export function looksLikeBlobDestination(destination: string): boolean {
    return /^https?:\/\//i.test(destination.trim());
}

/** Parses a `destination` URL; never throws. */
export function parseBlobDestination(url: string): Parsed<BlobDestinationAddress> {
    const split = splitUrl(url);
    if (!split.ok) return split;
    const [container, ...rest] = split.segments;
    if (container === undefined || container === "") {
        return { ok: false, reason: `the URL names no container; expected ${EXAMPLE}` };
    }
    const bad = checkContainer(container);
    if (bad) return { ok: false, reason: bad };
    const trailingSlash = rest.length > 0 && rest[rest.length - 1] === "";
    const parts = trailingSlash ? rest.slice(0, -1) : rest;
    if (parts.some((p) => p === "")) return { ok: false, reason: "the prefix has an empty path segment (`//`)" };
    const prefix = parts.length ? parts.join("/") + "/" : "";
    if (prefix.length > MAX_PREFIX) {
        return { ok: false, reason: `the prefix is ${prefix.length} characters long; at most ${MAX_PREFIX} are allowed` };
    }
    return { ok: true, accountUrl: split.accountUrl, account: split.account, container, prefix };
}

/** Parses the `location` URL of one backup blob (as `BlobDestination.write` returns it); never throws. */
export function parseBlobLocation(url: string): Parsed<BlobLocation> {
    const split = splitUrl(url);
    if (!split.ok) return split;
    const [container, ...rest] = split.segments;
    if (!container || rest.length === 0 || rest.some((p) => p === "")) {
        return { ok: false, reason: "the URL does not name a blob (expected .../<container>/<blob name>)" };
    }
    const bad = checkContainer(container);
    if (bad) return { ok: false, reason: bad };
    return { ok: true, accountUrl: split.accountUrl, account: split.account, container, blobName: rest.join("/") };
}


type Split = Parsed<{ accountUrl: string; account: string; segments: string[] }>;

function splitUrl(url: string): Split {
    const raw = url.trim();
    if (!/^https:\/\//i.test(raw)) {
        return { ok: false, reason: "Blob Storage URLs must use https:// (Storage only accepts tokens over HTTPS)" };
    }
    if (/[?#]/.test(raw)) {
        return {
            ok: false,
            reason:
                "the URL has a query string or fragment (a SAS token?); it would be stored in Pulumi state. " +
                "Use the plain container URL; access comes from the Azure credential",
        };
    }
    if (raw.includes("\\")) return { ok: false, reason: "the URL contains a backslash" };
    let parsed: URL;
    try {
        parsed = new URL(raw);
    } catch {
        return { ok: false, reason: `not a valid URL; expected ${EXAMPLE}` };
    }
    if (parsed.username || parsed.password) return { ok: false, reason: "the URL must not contain a user name or password" };
    const rawPath = raw.replace(/^https:\/\/[^/]*/i, "");
    const rawSegments = rawPath.split("/").slice(1);
    if (rawSegments.some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
        return { ok: false, reason: "the path has a `.` or `..` segment" };
    }
    let segments: string[];
    try {
        segments = rawSegments.map((s) => decodeURIComponent(s));
    } catch {
        return { ok: false, reason: "the path has a malformed %-escape" };
    }
    return hostParts(parsed, segments);
}

function hostParts(parsed: URL, segments: string[]): Split {
    const host = parsed.hostname;
    if (isLoopbackHost(host)) {
        const [account, ...rest] = segments;
        if (!account || !ACCOUNT.test(account)) {
            return {
                ok: false,
                reason:
                    "a loopback (Azurite) URL needs the account as its first path segment, " +
                    "3-24 lowercase letters and digits: https://127.0.0.1:<port>/<account>/<container>/<prefix>",
            };
        }
        return { ok: true, accountUrl: `https://${parsed.host}/${account}`, account, segments: rest };
    }
    for (const pattern of CLOUD_HOSTS) {
        const m = pattern.exec(host);
        if (!m) continue;
        const account = m[1];
        if (!ACCOUNT.test(account)) {
            return { ok: false, reason: `storage account name "${account}" must be 3-24 lowercase letters and digits` };
        }
        if (parsed.port) return { ok: false, reason: "a Blob Storage endpoint URL takes no port" };
        return { ok: true, accountUrl: `https://${host}`, account, segments };
    }
    return {
        ok: false,
        reason:
            `host "${host}" is not a Blob Storage endpoint (<account>.blob.core.windows.net, ` +
            ".blob.core.chinacloudapi.cn, .blob.core.usgovcloudapi.net) nor a loopback Azurite address",
    };
}

function checkContainer(container: string): string | undefined {
    if (CONTAINER.test(container)) return undefined;
    return (
        `container name "${container}" is invalid: 3-63 characters, lowercase letters, digits and ` +
        "single hyphens, starting and ending with a letter or digit"
    );
}
