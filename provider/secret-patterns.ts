/**
 * Glob-like secret name patterns for `VaultBackup`'s `include`/`exclude`: `*` is any run of
 * name characters, `?` exactly one; everything else is literal. Matching ignores case, as Key
 * Vault does for secret names. Pure.
 */

const PATTERN = /^[0-9a-zA-Z*?-]{1,127}$/;

/** A compiled pattern list. */
export interface NameFilter {
    /** Whether `name` matches an include pattern and no exclude pattern. */
    accepts(name: string): boolean;
    /** The include patterns that matched none of `names` (likely typos). */
    unmatchedIncludes(names: string[]): string[];
}

/**
 * Compiles `include` (default `["*"]`) and `exclude` (default none). Throws naming the input
 * (`VaultBackup: include[2]`, or as `labels` call them) when a pattern is empty or has characters a secret name cannot have.
 */
export function nameFilter(include: string[] = ["*"], exclude: string[] = [], labels = { include: "VaultBackup: include", exclude: "VaultBackup: exclude" }): NameFilter {
    const inc = compileAll(labels.include, include);
    const exc = compileAll(labels.exclude, exclude);
    return {
        accepts: (name) => inc.some((p) => p.re.test(name)) && !exc.some((p) => p.re.test(name)),
        unmatchedIncludes: (names) => inc.filter((p) => !names.some((n) => p.re.test(n))).map((p) => p.source),
    };
}

function compileAll(input: string, patterns: unknown): Array<{ source: string; re: RegExp }> {
    if (!Array.isArray(patterns)) throw new Error(`${input} must be a list of name patterns`);
    return patterns.map((p, i) => {
        if (typeof p !== "string" || !PATTERN.test(p)) {
            throw new Error(
                `${input}[${i}] ${JSON.stringify(p)} is not a name pattern: use letters, digits, hyphens, * (any run) and ? (one character)`,
            );
        }
        const body = p.replace(/\*/g, "[0-9a-zA-Z-]*").replace(/\?/g, "[0-9a-zA-Z-]");
        return { source: p, re: new RegExp(`^${body}$`, "i") };
    });
}
