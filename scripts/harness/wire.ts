/**
 * The values the Pulumi engine puts on the wire to a provider: the unknown sentinel, secret
 * markers, and conversion between plain objects and protobuf Structs.
 */
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

/** The string the engine sends for a value not known until apply (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key that marks a special object (secret, asset, resource reference). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** The signature value of a secret: `{ [SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A JSON-like property map as a provider sees it. */
export type PropertyMap = Record<string, unknown>;

/** Whether `v` is a secret marker object. */
export function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/**
 * Removes secret markers at any depth, keeping the values, as the engine does for providers
 * that do not accept secrets (the dynamic-provider host says so in Configure).
 */
export function stripSecrets<T>(value: T): T {
    if (isSecret(value)) return stripSecrets(value.value) as T;
    if (Array.isArray(value)) return value.map((v) => stripSecrets(v)) as T;
    if (typeof value === "object" && value !== null) {
        const out: PropertyMap = {};
        for (const [k, v] of Object.entries(value)) out[k] = stripSecrets(v);
        return out as T;
    }
    return value;
}

/**
 * Converts a property map to a protobuf Struct. `undefined` fails here exactly as it fails in
 * the host ("Unexpected struct type"), so callers see the same error the engine would.
 */
export function toStruct(props: PropertyMap): Struct {
    return Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]);
}

/** Converts a protobuf Struct (possibly absent) to a plain property map. */
export function fromStruct(s: Struct | undefined): PropertyMap {
    return s ? (s.toJavaScript() as PropertyMap) : {};
}
