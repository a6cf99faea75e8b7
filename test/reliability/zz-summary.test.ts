import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { leakCorpus, tally } from "./support";

// Runs after the rest of the reliability suite (files run in name order): searches everything the
// suite exposed (state, outputs, host logs, error messages, serialized providers, file names) for
// every secret value, client secret and token it used, then prints the suite's summary table.

/** A token-shaped string (a JWT): none may appear anywhere, whoever it was issued to. */
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+/;

/** The forms a leaked value could take: as is, URL-encoded, base64. */
function forms(value: string): string[] {
    return [...new Set([value, encodeURIComponent(value), Buffer.from(value).toString("base64")])];
}

/** Every (needle, place) pair where a watched value, in any of its forms, or a JWT appears. */
export function findLeaks(needles: Map<string, string>, texts: { where: string; text: string }[]): string[] {
    const found: string[] = [];
    for (const { where, text } of texts) {
        for (const [label, value] of needles) if (forms(value).some((f) => text.includes(f))) found.push(`${label} in ${where}`);
        const jwt = JWT.exec(text);
        if (jwt) found.push(`a token (${jwt[0].slice(0, 12)}...) in ${where}`);
    }
    return found;
}

/** Every file and folder name under `folder`, at any depth. */
function namesUnder(folder: string): string[] {
    if (!fs.existsSync(folder)) return [];
    return (fs.readdirSync(folder, { recursive: true }) as string[]).map((n) => path.join(folder, n));
}

describe("reliability: leaks, searched after the suite, and the summary", function () {
    after(() => printSummary());

    it("the leak search finds a planted value, in any of its forms, and a token", () => {
        const needles = new Map([["canary", "canary-5b8e0f2a9c"]]);
        const encoded = Buffer.from("canary-5b8e0f2a9c").toString("base64");
        assert.deepEqual(findLeaks(needles, [{ where: "plain", text: "x canary-5b8e0f2a9c y" }, { where: "b64", text: encoded }, { where: "clean", text: "nothing here" }]), ["canary in plain", "canary in b64"]);
        assert.equal(findLeaks(new Map(), [{ where: "log", text: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0In0.c2ln" }]).length, 1);
    });

    it("no secret value, client secret or token appears in state, outputs, logs, errors, serialized providers or file names", function () {
        const { needles, texts, folders } = leakCorpus();
        if (texts.length === 0) this.skip(); // run on its own: nothing was exposed to search
        const names = folders.flatMap(namesUnder);
        const corpus = [...texts, { where: "file names", text: names.join("\n") }];
        const providers = texts.filter((t) => t.text.includes("__provider")).length;
        assert.ok(providers > 0, "serialized providers were among the texts searched");
        assert.ok(needles.size >= 5, `${needles.size} values watched`);
        const found = findLeaks(needles, corpus);
        tally.leaks = { needles: needles.size, texts: corpus.length, bytes: corpus.reduce((n, t) => n + t.text.length, 0), found: found.length };
        assert.deepEqual(found, []);
    });
});

function printSummary(): void {
    const faults = tally.faults;
    const verified = faults.filter((f) => f.outcome === "backup verified").length;
    const l = tally.load;
    const c = tally.concurrency;
    const k = tally.leaks;
    const rows: [string, string][] = [
        ["bad inputs tried / refused at Check", `${tally.badInputsTried} / ${tally.badInputsRefused} (no vault request)`],
        ["faults injected and survived", `${faults.length} (${verified} complete backups that verify, ${faults.length - verified} clean failures)`],
        ["concurrency", c ? `${c.backups} backups of one secret -> ${c.distinctFiles} distinct files, ${c.verified} verify (${c.maxInFlight} in flight, ${c.seconds.toFixed(1)} s)` : "not run"],
        ["emulator load held", l ? `${l.requests} requests / ${l.clients} clients in ${l.seconds.toFixed(1)} s: ${l.ok} ok, ${l.throttled} 429 (expected ${l.expectedThrottled}), ${l.wrong} wrong, heap +${l.heapGrowthMb.toFixed(1)} MB, clean close` : "not run"],
        ["leaks found", k ? `${k.found} (${k.needles} values x ${k.texts} texts, ${(k.bytes / 1024).toFixed(0)} KiB searched)` : "not searched"],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    const lines = ["", "  Reliability summary", `  ${"-".repeat(width + 2)}+${"-".repeat(60)}`, ...rows.map(([a, b]) => `  ${a.padEnd(width)}  | ${b}`)];
    for (const f of faults) lines.push(`    fault: ${f.name}: ${f.outcome}`);
    console.log(lines.join("\n") + "\n");
}
