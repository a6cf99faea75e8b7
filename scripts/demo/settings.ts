/**
 * Where the demo keeps its things (`.demo/`, ignored by git) and what it remembers between runs:
 * the backup key its emulators share, and the seed of a few made-up secrets.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { Seed } from "../../emulator";

/** The demo's folders and files, all under `root`. */
export interface DemoPaths {
    root: string;
    ca: string;
    emulatorData: string;
    backups: string;
    stackState: string;
    settings: string;
    pulumiBackend: string;
}

/** What the demo remembers between runs. */
export interface DemoSettings {
    /** Shared by the demo's emulators so a backup restores into a fresh one ("same geography"). */
    backupKey: string;
}

/** The vault the demo backs up. */
export const DEMO_VAULT = "demo";
/** The secrets seeded into it on the first run (see `demoSeed`), in table order. */
export const DEMO_SECRETS = ["db-password", "api-key", "storage-connection"];
/** The key seeded into it (RSA 2048; made through the client when an older demo vault lacks it). */
export const DEMO_KEY = "signing-key";
/** The certificate seeded into it (self-signed, issuer Self; made through the client when an older demo vault lacks it). */
export const DEMO_CERTIFICATE = "tls-cert";

/** The demo's folder: `DEMO_DIR` when set (tests use a scratch folder), else the project's `.demo`. */
export function demoRoot(projectRoot: string): string {
    return process.env.DEMO_DIR ? path.resolve(process.env.DEMO_DIR) : path.join(projectRoot, ".demo");
}

/**
 * Why the demo cannot keep its state in `root` (from `demoRoot`), naming `DEMO_DIR` when it came
 * from there; undefined when `root` is a folder or can be made (its nearest existing part is one).
 */
export function demoRootProblem(root: string): string | undefined {
    for (let dir = root; ; dir = path.dirname(dir)) {
        const stat = fs.statSync(dir, { throwIfNoEntry: false });
        if (stat) {
            if (stat.isDirectory()) return undefined;
            const what = dir === root ? `"${root}" is a file, not a folder` : `"${dir}", a part of "${root}", is a file, not a folder`;
            const input = process.env.DEMO_DIR ? `DEMO_DIR=${process.env.DEMO_DIR}: ` : "";
            return `${input}${what}; the demo keeps its vault, backups and stack there. Set DEMO_DIR to a folder (made if missing), or leave it unset to use .demo in the project.`;
        }
        if (path.dirname(dir) === dir) return undefined;
    }
}

/**
 * The `destination` the demo's stack config gives for the `backups` folder: `./<path>` relative to
 * the project when the folder is inside it (what earlier demo stacks hold, so their backups stay
 * unchanged), else the absolute path, since a destination may not climb out with `..`.
 */
export function demoDestination(projectRoot: string, backups: string): string {
    const relative = path.relative(projectRoot, backups);
    return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? backups : `./${relative}`;
}

/** The demo's paths under `root` (see `demoRoot`). */
export function demoPaths(root: string): DemoPaths {
    return {
        root,
        ca: path.join(root, "ca"),
        emulatorData: path.join(root, "emulator"),
        backups: path.join(root, "backups"),
        stackState: path.join(root, "stack.json"),
        settings: path.join(root, "settings.json"),
        pulumiBackend: path.join(root, "pulumi"),
    };
}

/** Reads the settings, making them on the first run. */
export function loadSettings(paths: DemoPaths): DemoSettings {
    if (fs.existsSync(paths.settings)) return JSON.parse(fs.readFileSync(paths.settings, "utf8")) as DemoSettings;
    const settings: DemoSettings = { backupKey: randomBytes(32).toString("base64url") };
    saveSettings(paths, settings);
    return settings;
}

/** Writes the settings (mode 0600: the backup key decrypts the demo's backups). */
function saveSettings(paths: DemoPaths, settings: DemoSettings): void {
    fs.mkdirSync(paths.root, { recursive: true, mode: 0o700 });
    fs.writeFileSync(paths.settings, JSON.stringify(settings, null, 2) + "\n", { mode: 0o600 });
}

/** The first run's vault: made-up values generated here, so none is ever committed; db-password has two versions; one key and one self-signed certificate. */
export function demoSeed(): Seed {
    const value = (): string => randomBytes(18).toString("base64url");
    return {
        vaults: {
            [DEMO_VAULT]: {
                secrets: {
                    "db-password": { versions: [{ value: value() }, { value: value() }] },
                    "api-key": value(),
                    "storage-connection": { value: `AccountName=demo;AccountKey=${value()}`, contentType: "text/plain" },
                },
                keys: { [DEMO_KEY]: { kty: "RSA", key_size: 2048 } },
                certificates: { [DEMO_CERTIFICATE]: { policy: { x509_props: { subject: `CN=${DEMO_CERTIFICATE}` } } } },
            },
        },
    };
}
