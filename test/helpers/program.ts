/**
 * Running a Pulumi program under `pulumi.runtime.setMocks` in tests: re-exports `runProgram`
 * from `scripts/harness/program.ts` (each registration's inputs in wire form, `__provider`
 * included) and gives each test its own scratch folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { scratchRoot } from "./paths";

export { runProgram, Program, ProgramOptions, ProgramRun, Registration, RegistrationResult } from "../../scripts/harness/program";

/** A new, not yet existing folder path under the scratch root, unique to one test. */
export function uniqueFolder(label: string): string {
    fs.mkdirSync(scratchRoot, { recursive: true });
    return path.join(scratchRoot, `${label}-${Date.now()}-${randomBytes(3).toString("hex")}`);
}
