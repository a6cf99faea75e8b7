/**
 * A provider module that does nothing, for the host's own cost per Check+Create (`floor.ts`): each
 * call answers at once with outputs shaped like a backup's, without calling a vault or writing a
 * file. Never used by the package; loaded only by the bench's host through a rewritten `__provider`.
 */
let created = 0;

/** Takes no settings. */
export function configure(): void {}

/** Accepts every input as it is. */
export async function check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ inputs: Record<string, unknown>; failures: [] }> {
    return { inputs: news, failures: [] };
}

/** Never a change. */
export async function diff(): Promise<{ changes: boolean; replaces: string[]; changedKeys: string[] }> {
    return { changes: false, replaces: [], changedKeys: [] };
}

/** Answers with the inputs plus a backup's output fields (no vault call, no file). */
export async function create(news: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
    const location = `file:///nowhere/${created++}.kvbackup`;
    return {
        id: location,
        outs: { ...news, triggers: [], backedUpAt: new Date().toISOString(), sha256: "0".repeat(64), sizeBytes: 1234, location, requestId: "none", version: "", versionUpdatedOn: String(news.sourceUpdatedOn ?? "") },
    };
}
