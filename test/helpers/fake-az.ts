/**
 * A fake Azure CLI for tests that prove the Azure CLI is never consulted: an `az` script, put first
 * on PATH for a child process, that records each call and fails as a signed-out CLI does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { uniqueFolder } from "./program";

/** A fake `az` on a PATH of its own; see `calls`. */
export interface FakeAz {
    /** Environment for a child process: PATH with the fake `az` first. */
    env: { PATH: string };
    /** The argument lines of every call so far (none while nothing consulted the CLI). */
    calls(): string[];
    /** Removes the script and its record. */
    remove(): void;
}

/** Makes a fake `az` in a new scratch folder. */
export function fakeAzOnPath(): FakeAz {
    const dir = uniqueFolder("fake-az");
    fs.mkdirSync(dir, { recursive: true });
    const record = path.join(dir, "calls.log");
    fs.writeFileSync(path.join(dir, "az"), `#!/bin/sh\necho "$*" >> '${record}'\necho "ERROR: Please run 'az login' to setup account." >&2\nexit 1\n`, { mode: 0o755 });
    return {
        env: { PATH: `${dir}${path.delimiter}${process.env.PATH ?? ""}` },
        calls: () => (fs.existsSync(record) ? fs.readFileSync(record, "utf8").split("\n").filter(Boolean) : []),
        remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}
