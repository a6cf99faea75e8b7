/**
 * Preloaded (`--require`) into the program runner: works around a Node 20.20 bug that would hang a
 * failing program. The language host reports an uncaught error with `util.inspect(err, { colors:
 * true })` (`@pulumi/pulumi/cmd/run/error.js`); with colours on, Node's `markNodeModules` loops
 * forever on a stack line holding `node_modules/@scope/<file>` with no separator after it, and the
 * SDK's source maps produce exactly such lines (`node_modules/@pulumi/output.ts:516:31`) for an
 * error thrown inside an `apply`. For those errors only, this asks for the same text without colours.
 */
import util = require("node:util");

/** A stack line Node 20.20's `markNodeModules` never finishes with. */
const LOOPING_LINE = /[/\\]node_modules[/\\]@[^/\\\n]*[/\\][^/\\\n]*$/m;

const original = util.inspect;
const guarded = function inspect(value: unknown, ...rest: unknown[]): string {
    const options = rest[0];
    if (
        typeof options === "object" && options !== null && (options as util.InspectOptions).colors &&
        value instanceof Error && typeof value.stack === "string" && LOOPING_LINE.test(value.stack)
    ) {
        return original(value, { ...(options as util.InspectOptions), colors: false });
    }
    return (original as (...a: unknown[]) => string)(value, ...rest);
};
// Keep inspect.custom, defaultOptions, colors and styles working through the wrapper.
Object.defineProperties(guarded, Object.getOwnPropertyDescriptors(original));
(util as { inspect: unknown }).inspect = guarded;
