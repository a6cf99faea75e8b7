/**
 * The `secret-backup list`, whole-destination `restore` and `prune` commands: arguments in, the
 * exported functions called, tables (or JSON) out. Loaded by `cli.ts` only when one of them runs.
 */
import { parseArgs } from "node:util";
import type { ObjectKind } from "../destinations/destination";
import { BackupInputError } from "../backup-errors";
import { listBackups, type BackupListing } from "./list";
import { restoreVault, type RestoreVaultResult } from "./restore-vault";
import { parseDuration, pruneBackups, type PruneResult } from "./prune";
import { textTable } from "./text-table";
import type { Io } from "../cli";


/** Exit codes, as `cli.ts` documents them. */
const OK = 0;
const FAILED = 1;
/** A run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED = 130;

/** `secret-backup list <destination>`. */
export async function listCommand(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
            vault: { type: "string" },
            name: { type: "string", multiple: true },
            kind: { type: "string", multiple: true },
            verify: { type: "boolean" },
            "check-vault": { type: "string" },
            json: { type: "boolean" },
        },
    });
    const destination = onePositional(positionals, "list");
    const listing = await listBackups(destination, {
        vault: values.vault,
        names: values.name,
        kinds: values.kind as ObjectKind[] | undefined,
        verify: values.verify,
        checkVault: values["check-vault"],
    });
    const unsound = listing.objects.filter((o) => o.verification && o.verification.failed.length > 0).length;
    if (values.json) io.out(`${JSON.stringify(listing)}\n`);
    else io.out(listTable(listing, !!values.verify));
    return unsound ? FAILED : OK;
}

function listTable(listing: BackupListing, verified: boolean): string {
    const header = ["vault", "kind", "name", "backups", "newest", "size", "sha256", ...(verified ? ["verifies"] : [])];
    const rows = listing.objects.map((o) => [
        o.vault,
        o.kind,
        o.name,
        String(o.backups.length),
        o.newest.backedUpAt,
        `${o.newest.sizeBytes} B`,
        o.newest.sha256Prefix,
        ...(o.verification ? [o.verification.failed.length === 0 ? "yes" : `NO: ${o.verification.failed.length} of ${o.backups.length} fail (${[...new Set(o.verification.failed.map((f) => f.reason))].join(", ")})`] : []),
    ]);
    const backups = listing.objects.reduce((n, o) => n + o.backups.length, 0);
    const lines = [
        listing.objects.length ? textTable(header, rows) : `no backups in ${listing.destination}`,
        "",
        `${listing.objects.length} objects, ${backups} backups in ${listing.destination}` +
            (listing.foreign.length ? `; ${listing.foreign.length} other entries are not this tool's and are left alone` : ""),
    ];
    if (verified) {
        for (const o of listing.objects) for (const f of o.verification?.failed ?? []) lines.push(`  ${f.message}`);
    }
    const c = listing.vaultCheck;
    if (c) {
        const named = (disabled: boolean) => c.notBackedUp.filter((o) => o.disabled === disabled).map((o) => `${o.kind} ${o.name}`).join(", ");
        const others = c.notBackedUp.length - c.disabled;
        lines.push(
            `vault ${c.vaultUrl}: ${c.objects} objects, ${c.notBackedUp.length} with no backup here, ${c.disabled} of them disabled` +
                (c.notBackedUp.length ? "; a vault restored from here will not have them." : "."),
        );
        if (c.disabled) lines.push(`  disabled (VaultBackup skips them unless includeDisabled: true): ${named(true)}`);
        if (others) lines.push(`  not backed up (new since the last backup, or left out by include/exclude/kinds): ${named(false)}`);
        for (const n of c.notes) lines.push(`  note: ${n}`);
    }
    return `${lines.join("\n")}\n`;
}

/** `secret-backup restore --from <destination> --vault <url> --all | --name ...`, with the values `cli.ts` parsed. */
export async function restoreVaultCommand(
    values: { from: string; vault: string; "api-version"?: string; json?: boolean; all?: boolean; name?: string[]; kind?: string[]; "source-vault"?: string; "on-conflict"?: string; "dry-run"?: boolean; "restores-per-10-seconds"?: string },
    io: Io,
): Promise<number> {
    const pace = values["restores-per-10-seconds"];
    if (pace !== undefined && !/^[1-9]\d*$/.test(pace)) throw new BackupInputError("restores-per-10-seconds", `--restores-per-10-seconds ${JSON.stringify(pace)} must be a whole number of at least 1`);
    // Ctrl-C: no new restore starts, the ones sent are awaited, then the summary; a second Ctrl-C stops at once.
    const stop = new AbortController();
    const onSigint = (): void => {
        if (stop.signal.aborted) process.exit(INTERRUPTED);
        stop.abort();
        io.progress?.("");
        io.err("interrupted: waiting for the restores already sent, then printing what was done (Ctrl-C again to stop at once)\n");
    };
    process.on("SIGINT", onSigint);
    let result: RestoreVaultResult;
    try {
        result = await restoreVault({
        from: values.from,
        vaultUrl: values.vault,
        all: values.all,
        names: values.name,
        kinds: values.kind as ObjectKind[] | undefined,
        sourceVault: values["source-vault"],
        onConflict: values["on-conflict"] as "skip" | "fail" | undefined,
        dryRun: values["dry-run"],
        apiVersion: values["api-version"],
        restoresPer10Seconds: pace === undefined ? undefined : Number(pace),
        signal: stop.signal,
        onProgress: io.progress
            ? (p) => io.progress!(`restoring into ${values.vault}: ${p.restored + p.skipped + p.failed + p.planned} of ${p.total} done (${p.planned ? `${p.planned} would restore` : `${p.restored} restored`}, ${p.skipped} skipped, ${p.failed} failed)`)
            : undefined,
        });
    } finally {
        process.removeListener("SIGINT", onSigint);
    }
    io.progress?.("");
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else io.out(restoreTable(result));
    return result.interrupted ? INTERRUPTED : result.complete ? OK : FAILED;
}

/**
 * The text `secret-backup restore --all` prints: one row per object, failures and soft-deleted
 * skips with what to do, then the verdict (with the count not yet attempted when interrupted).
 */
export function restoreTable(r: RestoreVaultResult): string {
    const result = (o: RestoreVaultResult["objects"][number]): string => (o.outcome === "planned" ? "would restore" : o.outcome === "not-attempted" ? "not attempted" : o.outcome);
    const rows = r.objects.map((o) => [o.kind, o.name, result(o), detail(o)]);
    const failures = r.objects
        .filter((o) => o.outcome === "failed" || (o.outcome === "skipped" && o.conflict === "soft-deleted"))
        .map((o) => `${o.outcome} ${o.kind} ${o.name}: ${(o.why ?? "").replace(/\s*\n\s*/g, " ").replace(/\.*$/, "")}.\n  What to do: ${o.whatToDo ?? "see above."}\n`);
    const c = r.counts;
    const softDeleted = r.objects.filter((o) => o.outcome === "skipped" && o.conflict === "soft-deleted").length;
    const verdict = r.dryRun
        ? `dry run: ${c.planned} would be restored, ${c.skipped} skipped, ${c.failed} would fail${c.notAttempted ? `, ${c.notAttempted} not yet attempted` : ""}; nothing was sent to ${r.vaultUrl}`
        : `${c.restored} restored, ${c.skipped} skipped, ${c.failed} failed${c.notAttempted ? `, ${c.notAttempted} not yet attempted` : ""} of ${c.total} from ${r.from} (vault ${r.sourceVault || "?"}) into ${r.vaultUrl}`;
    const why = [
        c.failed ? `${c.failed} failed` : "",
        softDeleted ? `${softDeleted} skipped because a soft-deleted object holds the name (not usable until recovered or purged)` : "",
        c.notAttempted ? `${c.notAttempted} not yet attempted` : "",
    ].filter(Boolean).join(", ");
    const tail = r.interrupted
        ? `Interrupted (exit code 130): ${why}. Run the same command again to restore the rest; what is in the vault now is skipped.\n`
        : r.complete
          ? r.dryRun ? "" : "Everything asked for is in the vault.\n"
          : `Not everything asked for is in the vault and usable: ${why} (exit code 1).\n`;
    const notes = r.notes.map((n) => `note: ${n}\n`).join("");
    return `${textTable(["kind", "name", "result", "detail"], rows)}\n\n${failures.join("")}${failures.length ? "\n" : ""}${notes}${verdict}\n${tail}`;
}

/** The table's short detail: when the backup was taken, why skipped, or the failure's facts in a few words. */
function detail(o: RestoreVaultResult["objects"][number]): string {
    if (o.outcome === "restored") return `backup of ${o.backedUpAt}${o.requestId ? `, request id ${o.requestId}` : ""}`;
    if (o.outcome === "planned") return `backup of ${o.backedUpAt}, verified`;
    if (o.outcome === "skipped") return o.why ?? "";
    if (o.outcome === "not-attempted") return `backup of ${o.backedUpAt}, not sent (interrupted)`;
    if (o.verification) return `backup ${o.verification} (see below)`;
    const facts = [o.status !== undefined ? `HTTP ${o.status}` : undefined, o.code].filter(Boolean).join(" ");
    return `${facts || "not restored"} (see below)`;
}

/** `secret-backup prune <destination> --keep-last N [--keep-within 30d] [--yes]`. */
export async function pruneCommand(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
            "keep-last": { type: "string" },
            "keep-within": { type: "string" },
            yes: { type: "boolean" },
            vault: { type: "string" },
            name: { type: "string", multiple: true },
            kind: { type: "string", multiple: true },
            json: { type: "boolean" },
        },
    });
    const destination = onePositional(positionals, "prune");
    const keepLast = values["keep-last"];
    if (keepLast === undefined) throw new BackupInputError("keep-last", "--keep-last <N> is required (how many newest backups of each object to keep)");
    if (!/^\d+$/.test(keepLast)) throw new BackupInputError("keep-last", `--keep-last ${JSON.stringify(keepLast)} must be a whole number of at least 1`);
    const result = await pruneBackups({
        destination,
        keepLast: Number(keepLast),
        keepWithinMs: values["keep-within"] === undefined ? undefined : parseDuration(values["keep-within"]),
        apply: values.yes,
        vault: values.vault,
        names: values.name,
        kinds: values.kind as ObjectKind[] | undefined,
    });
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else io.out(pruneText(result));
    return result.failed.length ? FAILED : OK;
}

function pruneText(r: PruneResult): string {
    const lines: string[] = [];
    const verb = r.applied ? "removed" : "would remove";
    const listed = r.applied ? r.removed : r.remove;
    for (const c of listed) lines.push(`${verb} ${c.location}`);
    for (const f of r.failed) lines.push(`FAILED to remove ${f.location}: ${f.why}`);
    for (const l of r.leftAlone) lines.push(`left alone ${l.location}: ${l.why}`);
    for (const n of r.retentionNotes) lines.push(`note: ${n}`);
    for (const d of r.damaged) {
        const reasons = [...new Set(d.failed.map((f) => f.reason))].join(", ");
        lines.push(
            `DAMAGED backups of ${d.kind} ${d.name} (vault ${d.vault}): ${d.failed.length} of ${d.failed.length + d.verified} do not verify (${reasons}); ` +
                (d.newestVerified
                    ? `kept its newest verified backup ${d.newestVerified}; damaged ones are not counted as kept and are left for a person to look at.`
                    : "NONE of its backups verifies: nothing of it was removed; take a new backup of it now."),
        );
        for (const f of d.failed) lines.push(`  ${f.message}`);
    }
    lines.push(
        r.applied
            ? `${r.removed.length} removed, ${r.failed.length} failed, ${r.kept} kept, ${r.leftAlone.length} left alone in ${r.destination}`
            : `plan: ${r.remove.length} to remove, ${r.kept} to keep, ${r.leftAlone.length} left alone in ${r.destination}. Nothing was removed: run again with --yes to remove them.`,
    );
    if (r.damaged.length) lines.push(`${r.damaged.length} objects have damaged backups (named above): run secret-backup list --verify for the details.`);
    return `${lines.join("\n")}\n`;
}

function onePositional(positionals: string[], command: string): string {
    if (positionals.length !== 1) throw new BackupInputError("destination", `${command} takes one destination (a folder or a Blob Storage container URL), got ${positionals.length}`);
    return positionals[0];
}
