/** Plain-text tables for the command line: a header, a rule, then rows, columns padded to fit. Pure. */

/** Formats `header` and `rows` as aligned columns separated by two spaces; trailing spaces trimmed. */
export function textTable(header: string[], rows: string[][]): string {
    const cells = [header, ...rows];
    const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
    const line = (row: string[]): string => row.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
