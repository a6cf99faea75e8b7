/** The api-versions the secrets API accepts: 7.0-7.6 and 2025-07-01 (the current SDK's default). */
import { unsupportedApiVersion } from "./errors";

/** Every api-version the emulator answers. */
export const API_VERSIONS = ["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"] as const;

/** The newest one, named in the error for any other. */
export const LATEST_API_VERSION = "2025-07-01";

/** Returns the version, or throws 400 BadParameter naming it (required: the service has no default). */
export function checkApiVersion(value: string | undefined): string {
    if (value === undefined || !(API_VERSIONS as readonly string[]).includes(value)) {
        throw unsupportedApiVersion(value ?? "", LATEST_API_VERSION);
    }
    return value;
}
