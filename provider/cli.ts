#!/usr/bin/env node
/**
 * `secret-backup`: verify a stored Key Vault secret backup, or restore it into a vault.
 * Exit codes scripts can rely on: 0 done, 1 verification or restore failed, 2 usage error.
 * Never prints a secret value: nothing it handles contains one in clear.
 */
import { parseArgs } from "node:util";
import type { VerifiedBackup } from "./verify";
import type { ObjectKind } from "./kinds";
import { BackupInputError } from "./backup-errors";

/** Exit codes of `secret-backup`. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const MAIN_HELP = `Usage: secret-backup <command> [options]

Commands:
  verify <location>                     check a stored backup's hash and framing
  restore --from <location> --vault <url>  verify a backup, then restore it into a vault

A location is a file path, a file:// URL or a Blob Storage https:// URL (the SecretBackup's
"location" output). Run "secret-backup <command> --help" for a command's options.

Exit codes: 0 done, 1 verification or restore failed, 2 usage error.
`;

const VERIFY_HELP = `Usage: secret-backup verify <location> [--sha256 <hex>] [--json]

Reads the backup at <location> and checks that it is a well-formed Key Vault secret, key or
certificate backup (the kind's tag, then a five-part JWE whose header names alg and enc) and, with
--sha256, that it hashes to the given digest (the SecretBackup's "sha256" output).
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

Credentials: AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST,
managed identity or az login, as for the provider.

Exit codes: 0 restored, 1 verification or restore failed, 2 usage error.
`;

/** Where the command writes; a parameter so that the command's text can be checked in-process too. */
export interface Io {
    out(text: string): void;
    err(text: string): void;
}

/** Runs `secret-backup` with `argv` (without node and script) and resolves with its exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
    const [command, ...rest] = argv;
    try {
        switch (command) {
            case "verify":
                return await verifyCommand(rest, io);
            case "restore":
                return await restoreCommand(rest, io);
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
        if (e instanceof BackupInputError || isParseArgsError(e)) {
            io.err(`secret-backup ${command}: ${(e as Error).message}\nRun "secret-backup ${command} --help" for usage.\n`);
            return EXIT.usage;
        }
        io.err(`secret-backup ${command}: ${(e as Error).message}\n`);
        return EXIT.failed;
    }
}

async function verifyCommand(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { sha256: { type: "string" }, kind: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) return help(io, VERIFY_HELP);
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
            kind: { type: "string" },
            json: { type: "boolean" },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) return help(io, RESTORE_HELP);
    if (values.from === undefined) throw new BackupInputError("from", "--from <location> is required");
    if (values.vault === undefined) throw new BackupInputError("vault", "--vault <url> is required");
    const { restoreBackup } = await import("./restore");
    const restored = await restoreBackup({
        from: values.from,
        vaultUrl: values.vault,
        sha256: values.sha256,
        apiVersion: values["api-version"],
        kind: values.kind as ObjectKind | undefined,
    });
    if (values.json) {
        io.out(`${JSON.stringify(restored)}\n`);
    } else {
        io.out(describe("verified", restored.backup));
        io.out(`restored ${restored.kind} ${restored.secretName} into ${restored.vaultUrl} (${restored.id}, request id ${restored.requestId})\n`);
    }
    return EXIT.ok;
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

if (require.main === module) {
    runCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
        (code) => {
            process.exitCode = code;
        },
        (e) => {
            process.stderr.write(`secret-backup: ${(e as Error).message}\n`);
            process.exitCode = EXIT.failed;
        },
    );
}
