/** The demo's table of backups: plain text, one row per object (its kind and name), columns padded to fit. */
import type { BackupRow } from "./run-stack";
import { textTable } from "../../provider/recovery/text-table";

/** Formats `rows` with a header; locations shown relative to `projectRoot` when inside it. */
export function backupTable(rows: BackupRow[], projectRoot: string): string {
    const root = `file://${projectRoot}/`;
    return textTable(
        ["kind", "name", "this run", "size", "sha256", "location"],
        rows.map((r) => [
            r.kind,
            r.name,
            r.takenNow ? "new backup" : "unchanged",
            `${r.sizeBytes} B`,
            `${r.sha256.slice(0, 12)}…`,
            r.location.startsWith(root) ? `./${r.location.slice(root.length)}` : r.location,
        ]),
    );
}
