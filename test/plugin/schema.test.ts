import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { SCHEMA_PATH } from "../../provider/plugin/tokens";
import { generateSchema, schemaText } from "../../scripts/schema";

type Resource = { properties: Record<string, { description?: string; secret?: boolean }>; inputProperties: Record<string, unknown>; requiredInputs: string[] };

describe("the provider plugin's schema (plugin/schema.json)", () => {
    const schema = generateSchema() as { resources: Record<string, Resource>; config: { variables: Record<string, { secret?: boolean }> } };

    it("is what the TypeScript declarations generate: run `npm run schema` after changing an input, output or doc comment", () => {
        assert.equal(fs.readFileSync(SCHEMA_PATH, "utf8"), schemaText());
    });

    it("has every input of the dynamic SecretBackup a non-TypeScript program can pass, and every output it has in state", () => {
        const r = schema.resources["keyvault-backup:index:SecretBackup"];
        assert.deepEqual(Object.keys(r.inputProperties).sort(), ["apiVersion", "destination", "secretName", "secretVersion", "sourceUpdatedOn", "triggers", "vaultUrl"]);
        for (const out of ["sha256", "location", "sizeBytes", "backedUpAt", "requestId", "version", "versionUpdatedOn"]) {
            assert.ok(r.properties[out]?.description, `output ${out} with a description`);
        }
        assert.deepEqual(r.requiredInputs, ["vaultUrl", "secretName"]);
    });

    it("marks the client secret secret, and nothing else", () => {
        const secret = Object.entries(schema.config.variables).filter(([, v]) => v.secret).map(([k]) => k);
        assert.deepEqual(secret, ["clientSecret"]);
    });

    it("declares VaultBackup as a component with the dynamic VaultBackup's outputs", () => {
        const v = schema.resources["keyvault-backup:index:VaultBackup"] as Resource & { isComponent?: boolean };
        assert.equal(v.isComponent, true);
        assert.deepEqual(Object.keys(v.properties).sort(), ["hashes", "locations", "objects", "secretNames", "skipped", "skippedByKind"]);
    });
});
