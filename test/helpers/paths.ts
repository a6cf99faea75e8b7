/** Fixed places the tests use, all under the repository's ignored `.cache/` folder. */
import * as path from "node:path";

/** The repository root (the folder holding package.json), from compiled `dist/test/helpers`. */
export const repoRoot = path.resolve(__dirname, "..", "..", "..");

/** Where the tests' CA lives; `npm test` sets `NODE_EXTRA_CA_CERTS` to `ca.pem` in it. */
export const testCaDir = path.join(repoRoot, ".cache", "test-ca");

/** A scratch folder for one test run's files. */
export const scratchRoot = path.join(repoRoot, ".cache", "scratch");
