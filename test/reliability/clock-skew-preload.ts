/**
 * Loaded into Azurite with `NODE_OPTIONS=--require <this file>` to run its clock
 * `RELIABILITY_CLOCK_SKEW_MS` ahead: every token the emulator issues then looks expired to it, so
 * Blob Storage answers 403 AuthenticationFailed, as it does to a machine whose clock is wrong.
 * sinon, because only a fake clock makes this happen on demand.
 */
import sinon from "sinon";

const skew = Number(process.env.RELIABILITY_CLOCK_SKEW_MS ?? 0);
if (skew) sinon.useFakeTimers({ now: Date.now() + skew, shouldAdvanceTime: true, toFake: ["Date"] });
