/**
 * The backup resources' provider as a module: its exports are exactly the methods Pulumi's
 * dynamic-provider host calls. Where this package is installed under `node_modules`, the backup
 * resources pass this module's exports object as their provider, and Pulumi serializes a module
 * found there as a `require` of it: `__provider` is then a few hundred bytes naming this file
 * instead of ~2 KB of serialized closures, which every Check, Diff and Create carries through the
 * host and engine. `operations` is loaded on the first call, inside the host, never in the program.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import type * as Operations from "./operations";

function operations(): typeof Operations {
    return require("./operations") as typeof Operations;
}

/** Configures the provider from the stack configuration (`operations.configure`). */
export async function configure(req: dynamic.ConfigureRequest): Promise<void> {
    operations().configure(req.config);
}

/** See `operations.check`. */
export function check(olds: Record<string, unknown>, news: Record<string, unknown>): ReturnType<typeof Operations.check> {
    return operations().check(olds, news);
}

/** See `operations.diff`. */
export function diff(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): ReturnType<typeof Operations.diff> {
    return operations().diff(id, olds, news);
}

/** See `operations.create`. */
export function create(news: Record<string, unknown>): ReturnType<typeof Operations.create> {
    return operations().create(news);
}

/** See `operations.update`. */
export function update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): ReturnType<typeof Operations.update> {
    return operations().update(id, olds, news);
}

/** See `operations.read`. */
export function read(id: string, props: Record<string, unknown>): ReturnType<typeof Operations.read> {
    return operations().read(id, props);
}

/** See `operations.delete`. */
function remove(id: string, props: Record<string, unknown>): ReturnType<typeof Operations.remove> {
    return operations().remove(id, props);
}
export { remove as delete };
