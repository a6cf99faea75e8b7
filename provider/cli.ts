#!/usr/bin/env node
/**
 * `secret-backup`: verify a stored Key Vault backup or restore it into a vault; list what a
 * destination holds, restore a whole vault from it, prune old backups.
 * Exit codes scripts can rely on: 0 done, 1 verification or restore failed, 2 usage error.
 * With `--json`, stdout carries one JSON object even on failure (`{"error": {...}}`).
 * Never prints a secret value: nothing it handles contains one in clear.
 */
import { parseArgs } from "node:util";
import type { VerifiedBackup } from "./verify";
import type { ObjectKind } from "./kinds";
import { BackupInputError } from "./backup-errors";

/** Exit codes of `secret-backup`. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const MAIN_HELP = `Usage: secret-backup <command> [options]

Commands:
  verify <location>                        check a stored backup's hash and framing
  restore --from <location> --vault <url>  verify a backup, then restore it into a vault
  list <destination>                       what a folder or container holds, one row per object
  restore --from <destination> --vault <url> --all | --name <pattern>
                                           restore the newest backup of each object into a vault
  prune <destination> --keep-last <N>      remove older backups beyond a policy (plan unless --yes)

A location is a file path, a file:// URL or a Blob Storage https:// URL (the SecretBackup's
"location" output); a destination is the folder or container URL (with prefix) backups go to.
Run "secret-backup <command> --help" for a command's options.

Exit codes: 0 done, 1 verification or restore failed, 2 usage error.
`;

const VERIFY_HELP = `Usage: secret-backup verify <location> [--sha256 <hex>] [--json]

Reads the backup at <location> and checks that it is a well-formed Key Vault secret, key or
certificate backup (the kind's tag, then a five-part JWE whose header names alg and enc), that it
hashes to the 12 hex digits its name carries (a name this tool writes: ..._<sha256 prefix>.kvbackup)
and, with --sha256, to the given digest (the SecretBackup's "sha256" output). A file whose bytes do
not match the hash in its name is damaged: every command reports it so and never sends it.
Only Key Vault can decrypt a backup, so this cannot prove the vault will accept it.

Options:
  --sha256 <hex>   expected SHA-256 of the stored bytes (64 hex characters)
  --kind <kind>    secret, key or certificate; by default the file name tells (needed
                   only for a renamed key or certificate backup: they share one tag)
  --json           print the result as one JSON object
  -h, --help       show this help

Blob locations use the same credential as the provider (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
AZURE_TENANT_ID, AZURE_AUTHORITY_HOST, managed identity or az login).

Exit codes: 0 sound, 1 missing, unreadable, changed or damaged, 2 usage error.
`;

const RESTORE_HELP = `Usage: secret-backup restore --from <location> --vault <url> [--sha256 <hex>] [--api-version 7.4] [--json]
       secret-backup restore --from <destination> --vault <url> (--all | --name <pattern>...) [options]

Verifies the backup at <location> (as "secret-backup verify" does; nothing is sent when it
fails), then restores it into the vault with Key Vault's Restore Secret, Key or Certificate (by
the backup's kind), which brings back every version. Needs that kind's "restore" permission. Key
Vault never overwrites: if an object of that name exists, active or soft-deleted, the restore
fails (409); recover or purge it first. The
vault must be in the same Azure subscription and geography as the one backed up.

Options:
  --from <location>      the backup: file path, file:// URL or Blob Storage URL (required)
  --vault <url>          the vault's base URL, e.g. https://myvault.vault.azure.net (required)
  --sha256 <hex>         expected SHA-256 of the backup, checked before restoring
  --api-version <v>      Key Vault API version (default 7.4)
  --kind <kind>          secret, key or certificate; by default the file name tells
  --json                 print the result as one JSON object
  -h, --help             show this help

Whole destination (with --all or --name): restores the newest backup of each selected object
found in the folder or container <destination>. Each is verified first (hash and framing); an
object whose name the vault already uses (active or soft-deleted) is skipped and reported, never
overwritten. A soft-deleted one is not usable, so the run is not complete (exit 1) until it is
recovered or purged; the table says which. Restores are paced under the vault's limit (300
creations per 10 s) with the same 429 back-off; a 409 right after a purge is retried for a few
seconds. One object's failure never stops the others; a vault that cannot be reached stops the
run before anything is sent. A table at the end says what was restored, skipped (why) and failed
(status, code, what to do). Ctrl-C stops starting new restores, waits for those sent and prints
the table with what was not yet attempted (exit 130). Needs the "list" and "restore" permissions.

  --all                        every object in the destination (of the source vault)
  --name <pattern>             objects whose name matches (* any run, ? one character); repeatable
  --kind <secret|key|certificate>  only this kind; repeatable
  --source-vault <host|url>    which vault's backups, when the destination holds several
  --on-conflict skip|fail      a name the vault already uses: skip it (default; exit 0 when an active
                               object holds it, exit 1 when a soft-deleted one does) or fail it (exit 1)
  --dry-run                    verify and print the plan; restore nothing
  --restores-per-10-seconds <n>  pacing (default 270: 90% of the vault's 300 creations per 10 s)

Credentials: AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST,
managed identity or az login, as for the provider.

Exit codes: 0 restored (or already there, skipped), 1 verification or a restore failed (or a name is soft-deleted in the vault, or the vault unreachable), 2 usage error, 130 interrupted (Ctrl-C).
`;

const LIST_HELP = `Usage: secret-backup list <destination> [--vault <host|url>] [--name <pattern>...] [--kind <kind>...] [--verify] [--check-vault <url>] [--json]

Lists what a backup folder (path or file://) or Blob Storage container URL (with optional
prefix) holds: one row per backed-up object with its vault, kind, name, number of backups, the
newest backup's time, size and sha256 prefix. Only names (and blob metadata) are read, so it is
quick on thousands of backups; --verify reads every backup and checks its hash and framing.
Entries that are not this tool's backups are counted and left alone.

Options:
  --vault <host|url>   only backups of this vault (e.g. myvault.vault.azure.net)
  --name <pattern>     only objects whose name matches (* any run, ? one character); repeatable
  --kind <kind>        secret, key or certificate; repeatable
  --verify             read and check every backup (adds a "verifies" column)
  --check-vault <url>  list that vault's objects (needs "list") and count those with no backup
                       here, disabled ones apart: VaultBackup skips objects whose current version
                       is disabled unless includeDisabled is set, so a restore will not bring them
  --json               print the listing as one JSON object
  -h, --help           show this help

Exit codes: 0 listed (with --verify: every backup sound), 1 a backup unsound or the destination unreadable, 2 usage error.
`;

const PRUNE_HELP = `Usage: secret-backup prune <destination> --keep-last <N> [--keep-within <30d>] [--yes] [--json]

Removes backups beyond a retention policy, per object (vault, kind, name). Every backup is read
and verified first, and only verified ones count: the <N> newest verified backups are kept, and
with --keep-within every backup younger than the duration (m, h, d or w) too. An object's newest
verified backup is never removed; neither is anything that is not verifiably this tool's backup
(another name, a blob without this tool's metadata, bytes that do not match their name's hash or
do not parse as a Key Vault backup): those are listed as left alone, and every object with
damaged backups is named (DAMAGED ...). Without --yes nothing is removed and the plan is printed. For Blob Storage it says when the container's
immutability or the account's soft delete will keep removed blobs.

Options:
  --keep-last <N>       newest verified backups to keep per object (at least 1; required)
  --keep-within <dur>   also keep backups younger than this, e.g. 30d, 12h, 2w
  --yes                 remove for real
  --vault, --name, --kind  limit the policy to some objects, as for list
  --json                print the result as one JSON object
  -h, --help            show this help

Exit codes: 0 planned or removed, 1 a removal failed or the destination is unreadable, 2 usage error.
`;

/** The options of the whole-destination `restore` (see `recovery/commands.ts`). */
const RESTORE_VAULT_OPTIONS = {
    all: { type: "boolean" },
    name: { type: "string", multiple: true },
    "source-vault": { type: "string" },
    "on-conflict": { type: "string" },
    "dry-run": { type: "boolean" },
    "restores-per-10-seconds": { type: "string" },
} as const;

/** Where the command writes; a parameter so that the command's text can be checked in-process too. */
export interface Io {
    out(text: string): void;
    err(text: string): void;
    /** A progress line rewritten in place ("" clears it); given only on a terminal. */
    progress?: (line: string) => void;
}

/** Runs `secret-backup` with `argv` (without node and script) and resolves with its exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
    const [command, ...rest] = argv;
    const json = rest.includes("--json");
    try {
        if (rest.includes("--help") || rest.includes("-h")) {
            const text = { verify: VERIFY_HELP, restore: RESTORE_HELP, list: LIST_HELP, prune: PRUNE_HELP }[command ?? ""];
            if (text) return help(io, text);
        }
        switch (command) {
            case "verify":
                return await verifyCommand(rest, io);
            case "restore":
                return await restoreCommand(rest, io);
            case "list":
                return await (await import("./recovery/commands")).listCommand(rest, io);
            case "prune":
                return await (await import("./recovery/commands")).pruneCommand(rest, io);
            case "help":
            case "--help":
            case "-h":
                io.out(MAIN_HELP);
                return EXIT.ok;
            default:
                io.err(`${command === undefined ? "a command is required" : `unknown command ${JSON.stringify(command)}`}\n\n${MAIN_HELP}`);
                return EXIT.usage;
        }
    } catch (e) {
        const usage = e instanceof BackupInputError || isParseArgsError(e);
        const exitCode = usage ? EXIT.usage : EXIT.failed;
        if (json) io.out(`${JSON.stringify({ error: errorObject(e, command, exitCode) })}\n`);
        if (usage) {
            io.err(`secret-backup ${command}: ${(e as Error).message}\nRun "secret-backup ${command} --help" for usage.\n`);
            return exitCode;
        }
        io.err(`secret-backup ${command}: ${(e as Error).message}\n`);
        return exitCode;
    }
}

/**
 * What `--json` prints on stdout when a command fails: the command, exit code, error name and
 * message (the same text as on stderr, which never holds a secret) and the facts the error keeps
 * (`input` for usage errors, `reason` and `location` for verification, `statusCode`, `code`,
 * `requestId` for Key Vault and Storage refusals).
 */
function errorObject(e: unknown, command: string | undefined, exitCode: number): Record<string, unknown> {
    const err = e as Error & Record<string, unknown>;
    const facts = Object.fromEntries(
        ["input", "reason", "location", "statusCode", "code", "requestId"].filter((k) => err?.[k] !== undefined && typeof err[k] !== "object").map((k) => [k, err[k]]),
    );
    return { command: command ?? null, exitCode, name: err?.name ?? "Error", message: err?.message ?? String(e), ...facts };
}

async function verifyCommand(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { sha256: { type: "string" }, kind: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
    if (positionals.length !== 1) throw new BackupInputError("location", `verify takes one location, got ${positionals.length}`);
    // The Azure SDKs load only when a command needs them, so --help and usage errors answer at once.
    const { verifyBackup } = await import("./verify");
    const report = await verifyBackup(positionals[0], { sha256: values.sha256, kind: values.kind as ObjectKind | undefined });
    io.out(values.json ? `${JSON.stringify(report)}\n` : describe("verified", report));
    return EXIT.ok;
}

async function restoreCommand(args: string[], io: Io): Promise<number> {
    const { values } = parseArgs({
        args,
        allowPositionals: false,
        options: {
            from: { type: "string" },
            vault: { type: "string" },
            sha256: { type: "string" },
            "api-version": { type: "string" },
            // One kind for a single backup; repeatable (a filter) for a whole destination.
            kind: { type: "string", multiple: true },
            json: { type: "boolean" },
            help: { type: "boolean", short: "h" },
            ...RESTORE_VAULT_OPTIONS,
        },
    });
    if (values.from === undefined) throw new BackupInputError("from", "--from <location> is required");
    if (values.vault === undefined) throw new BackupInputError("vault", "--vault <url> is required");
    const wholeDestination = values.all || values.name?.length;
    if (wholeDestination) {
        if (values.sha256 !== undefined) throw new BackupInputError("sha256", "--sha256 checks one backup: use it with --from <location>, not with --all or --name");
        const { restoreVaultCommand } = await import("./recovery/commands");
        return restoreVaultCommand({ ...values, from: values.from, vault: values.vault }, io);
    }
    const vaultOnly = (["source-vault", "on-conflict", "dry-run", "restores-per-10-seconds"] as const).filter((k) => values[k] !== undefined);
    if (vaultOnly.length) throw new BackupInputError(vaultOnly[0], `--${vaultOnly[0]} is for a whole destination: add --all or --name <pattern>`);
    if ((values.kind?.length ?? 0) > 1) throw new BackupInputError("kind", "--kind names one kind when restoring one backup");
    if (await isFolder(values.from)) {
        throw new BackupInputError("from", `--from ${values.from} is a folder: add --all to restore every object in it, or --name <pattern> for some (see "secret-backup list ${values.from}")`);
    }
    const { restoreBackup } = await import("./restore");
    const restored = await restoreBackup({
        from: values.from,
        vaultUrl: values.vault,
        sha256: values.sha256,
        apiVersion: values["api-version"],
        kind: values.kind?.[0] as ObjectKind | undefined,
    });
    if (values.json) {
        io.out(`${JSON.stringify(restored)}\n`);
    } else {
        io.out(describe("verified", restored.backup));
        io.out(`restored ${restored.kind} ${restored.secretName} into ${restored.vaultUrl} (${restored.id}, request id ${restored.requestId})\n`);
    }
    return EXIT.ok;
}

/** Whether `location` is an existing folder (a destination given where one backup was expected). */
async function isFolder(location: string): Promise<boolean> {
    if (/^https?:\/\//i.test(location)) return false;
    const { stat } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    try {
        return (await stat(location.startsWith("file:") ? fileURLToPath(location) : location)).isDirectory();
    } catch {
        return false;
    }
}

function help(io: Io, text: string): number {
    io.out(text);
    return EXIT.ok;
}

function describe(what: string, r: VerifiedBackup): string {
    return `${what} ${r.location}: ${r.kind ?? "key or certificate"} backup, ${r.sizeBytes} bytes, sha256 ${r.sha256}, ${r.alg}/${r.enc}\n`;
}

function isParseArgsError(e: unknown): boolean {
    const code = (e as { code?: unknown })?.code;
    return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

/** A progress line on stderr when it is a terminal: rewritten in place, cleared with "". */
function terminalProgress(): ((line: string) => void) | undefined {
    if (!process.stderr.isTTY) return undefined;
    return (line) => void process.stderr.write(`\r\x1b[2K${line}`);
}

if (require.main === module) {
    runCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), progress: terminalProgress() }).then(
        (code) => {
            process.exitCode = code;
        },
        (e) => {
            process.stderr.write(`secret-backup: ${(e as Error).message}\n`);
            process.exitCode = EXIT.failed;
        },
    );
}
