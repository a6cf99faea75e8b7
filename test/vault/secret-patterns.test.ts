import { strict as assert } from "node:assert";
import { nameFilter } from "../../provider/secret-patterns";

describe("VaultBackup name patterns", () => {
    const names = ["db-password", "DB-Replica", "api-key", "api-key-old", "tmp-1", "tmp-22", "x"];
    const cases: Array<[string[] | undefined, string[] | undefined, string[]]> = [
        [undefined, undefined, names],
        [["db-*"], undefined, ["db-password", "DB-Replica"]],
        [["api-key"], undefined, ["api-key"]],
        [["API-KEY*"], undefined, ["api-key", "api-key-old"]],
        [["tmp-?"], undefined, ["tmp-1"]],
        [["tmp-??"], undefined, ["tmp-22"]],
        [undefined, ["tmp-*", "*-old"], ["db-password", "DB-Replica", "api-key", "x"]],
        [["db-*", "x"], ["*replica"], ["db-password", "x"]],
        [[], undefined, []],
    ];
    for (const [include, exclude, expected] of cases) {
        it(`include ${JSON.stringify(include)} exclude ${JSON.stringify(exclude)} keeps ${expected.length} names`, () => {
            const f = nameFilter(include, exclude);
            assert.deepEqual(names.filter((n) => f.accepts(n)), expected);
        });
    }

    it("reports include patterns that match nothing (likely typos)", () => {
        assert.deepEqual(nameFilter(["db-*", "dbpassword", "api-?ey"]).unmatchedIncludes(names), ["dbpassword"]);
    });

    const bad: Array<[string[] | undefined, string[] | undefined, RegExp]> = [
        [["db_*"], undefined, /include\[0\] "db_\*" is not a name pattern/],
        [["ok", ""], undefined, /include\[1\] "" is not a name pattern/],
        [undefined, ["a.b"], /exclude\[0\] "a\.b" is not a name pattern/],
        [undefined, ["(x|y)"], /exclude\[0\]/],
        ["db-*" as unknown as string[], undefined, /include must be a list of name patterns/],
    ];
    for (const [include, exclude, pattern] of bad) {
        it(`refuses ${JSON.stringify(include ?? exclude)} naming the input`, () => {
            assert.throws(() => nameFilter(include, exclude), pattern);
        });
    }
});
