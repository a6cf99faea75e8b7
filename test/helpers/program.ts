/**
 * Running a Pulumi program under `pulumi.runtime.setMocks` in tests: re-exports `runProgram`
 * from `scripts/harness/program.ts` (each registration's inputs in wire form, `__provider`
 * included) and gives each test its own scratch folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { scratchRoot } from "./paths";
import { runProgram, type Program } from "../../scripts/harness/program";

export { runProgram, Program, ProgramOptions, ProgramRun, Registration, RegistrationResult } from "../../scripts/harness/program";

/**
 * Runs `program` as a preview under mocks (every registration answered with its inputs) and
 * resolves with the message of the error it fails with; rejects when it succeeds.
 */
export async function programError(program: Program, project: string): Promise<string> {
    try {
        await runProgram(program, { project, stack: "dev", config: {}, preview: true, register: async (reg) => ({ id: "", state: reg.inputs }) });
    } catch (e) {
        return (e as Error).message;
    }
    throw new Error("the program succeeded; it was expected to fail");
}

/** A new, not yet existing folder path under the scratch root, unique to one test. */
export function uniqueFolder(label: string): string {
    fs.mkdirSync(scratchRoot, { recursive: true });
    return path.join(scratchRoot, `${label}-${Date.now()}-${randomBytes(3).toString("hex")}`);
}
