/**
 * Cost of a new backup into a folder that already holds 100,000 backups, against an empty folder:
 * the file destination must not read the whole folder per write. The full folder is made once and
 * kept in `.cache/bench-100k` (about 2 s to make); the backups a run adds are removed after it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { measureBulk, medianByHostCpu, type BulkPlan, type BulkResult } from "./bulk";
import type { EmulatorProcess } from "./emulator-process";
import { repoRoot } from "./setup";
import { round } from "./stats";

/** Earlier backups in the full folder. */
export const BIG_FOLDER_FILES = 100_000;
const BIG_FOLDER = path.join(repoRoot, ".cache", "bench-100k");
const PREMADE = /^premade\.vault\.azure\.net_/;

/** Runs of each kind; they alternate, so a slow spell of the machine does not fall on one kind only. */
const ROUNDS = 3;

/** The median run of each kind (by host CPU per backup), every run's host CPU, and the ratio of the medians (full / empty). */
export interface BigFolderResult {
    files: number;
    empty: BulkResult;
    full: BulkResult;
    cpuRatio: number;
    /** Host CPU per backup of every run, ms, in the order they ran. */
    hostCpuMs: { empty: number[]; full: number[] };
}

/** Runs `plan` into an empty folder, then into the folder of 100,000, `ROUNDS` times. */
export async function measureBigFolder(emulator: EmulatorProcess, plan: BulkPlan): Promise<BigFolderResult> {
    const files = ensureBigFolder();
    const empties: BulkResult[] = [];
    const fulls: BulkResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
        empties.push(await measureBulk(emulator, { ...plan, label: `${plan.label}, empty folder` }));
        try {
            fulls.push(await measureBulk(emulator, { ...plan, label: `${plan.label}, folder of ${BIG_FOLDER_FILES}`, folder: BIG_FOLDER }));
        } finally {
            for (const name of fs.readdirSync(BIG_FOLDER)) if (!PREMADE.test(name)) fs.rmSync(path.join(BIG_FOLDER, name), { force: true });
        }
    }
    const empty = medianByHostCpu(empties);
    const full = medianByHostCpu(fulls);
    return {
        files, empty, full,
        cpuRatio: round(full.cpuMsPerBackup.host / empty.cpuMsPerBackup.host, 3),
        hostCpuMs: { empty: empties.map((r) => r.cpuMsPerBackup.host), full: fulls.map((r) => r.cpuMsPerBackup.host) },
    };
}


// 100,000 small files named as backups are: hard links (quick to make) to a few files, each under
// the file systems' link-count limits (ext4: 65,000).
function ensureBigFolder(): number {
    fs.mkdirSync(BIG_FOLDER, { recursive: true, mode: 0o700 });
    let names = fs.readdirSync(BIG_FOLDER).filter((n) => PREMADE.test(n));
    if (names.length !== BIG_FOLDER_FILES) {
        fs.rmSync(BIG_FOLDER, { recursive: true, force: true });
        fs.mkdirSync(BIG_FOLDER, { recursive: true, mode: 0o700 });
        const source = (i: number): string => path.join(BIG_FOLDER, "..", `bench-100k-source-${Math.floor(i / 50_000)}`);
        for (let i = 0; i < BIG_FOLDER_FILES; i++) {
            if (i % 50_000 === 0) fs.writeFileSync(source(i), "an earlier backup\n", { mode: 0o600 });
            const hash = i.toString(16).padStart(12, "0");
            fs.linkSync(source(i), path.join(BIG_FOLDER, `premade.vault.azure.net_s-${i}_20260101T000000000Z_${hash}.kvbackup`));
        }
        names = fs.readdirSync(BIG_FOLDER).filter((n) => PREMADE.test(n));
    }
    return names.length;
}
