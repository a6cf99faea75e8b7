/** The local Key Vault emulator's public surface. */
export { startEmulator } from "./server";
export type { EmulatorOptions, RunningEmulator, RequestRecord, FaultControls } from "./server";
export type { FaultSpec, ThrottleLimits } from "./faults";
export type { Principal, SecretPermission } from "./principals";
export type { Seed } from "./seed";
export type { Lag } from "./vault";
export type { MintOptions } from "./entra";
