/** The demo's table of backups: plain text, one row per secret, columns padded to fit. */
import type { BackupRow } from "./run-stack";

/** Formats `rows` with a header; locations shown relative to `projectRoot` when inside it. */
export function backupTable(rows: BackupRow[], projectRoot: string): string {
    const root = `file://${projectRoot}/`;
    const cells = [
        ["secret", "this run", "size", "sha256", "location"],
        ...rows.map((r) => [
            r.secret,
            r.takenNow ? "new backup" : "unchanged",
            `${r.sizeBytes} B`,
            `${r.sha256.slice(0, 12)}…`,
            r.location.startsWith(root) ? `./${r.location.slice(root.length)}` : r.location,
        ]),
    ];
    const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
    const line = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}
