/**
 * `npm run schema`: writes the provider plugin's Pulumi package schema (`plugin/schema.json`) from
 * the TypeScript declarations the dynamic resources are built from, so the two cannot drift: every
 * input and output, its description (the doc comment), its type and its secret marking come from
 * `provider/resource.ts` (the args and `*Outputs` interfaces), `provider/vault-backup.ts` and
 * `provider/plugin/config.ts`. A test
 * regenerates it and compares it with the committed file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { KINDS, OBJECT_KINDS, type KindInfo } from "../provider/kinds";
import { SECRET_CONFIG_KEYS } from "../provider/plugin/config";
import { VAULT_BACKUP_OUTPUTS } from "../provider/vault-backup";
import { PACKAGE_NAME, PACKAGE_VERSION, PLUGIN_TYPES, PLUGIN_VAULT_BACKUP_TYPE, SCHEMA_PATH } from "../provider/plugin/tokens";

/** A schema property or type reference. */
type Spec = Record<string, unknown>;

const ROOT = path.join(__dirname, "..", "..");

const KIND_PATTERNS = `${PACKAGE_NAME}:index:KindPatterns`;
const BACKED_UP_OBJECT = `${PACKAGE_NAME}:index:BackedUpObject`;

/** Inputs of the TypeScript face that other languages cannot pass: an `@pulumi/azure-native` resource object. */
const TYPESCRIPT_ONLY = new Set(["secret", "key"]);

/** The schema of each declared TypeScript type, by the type's text with `pulumi.Input<>`/`pulumi.Output<>` removed. */
const TYPES: Record<string, Spec> = {
    "string": { type: "string" },
    "number": { type: "number" },
    "boolean": { type: "boolean" },
    "string[]": { type: "array", items: { type: "string" } },
    "ObjectKind[]": { type: "array", items: { type: "string" } },
    "unknown[]": { type: "array", items: { $ref: "pulumi.json#/Any" } },
    "string[] | KindPatterns": { oneOf: [{ type: "array", items: { type: "string" } }, { $ref: `#/types/${KIND_PATTERNS}` }] },
    "Record<string, string>": { type: "object", additionalProperties: { type: "string" } },
    "Record<ObjectKind, string[]>": { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
    "Record<ObjectKind, Record<string, BackedUpObject>>": {
        type: "object", additionalProperties: { type: "object", additionalProperties: { $ref: `#/types/${BACKED_UP_OBJECT}` } },
    },
};

function typeText(node: ts.TypeNode | undefined, source: ts.SourceFile): string {
    let text = (node?.getText(source) ?? "").replace(/\s+/g, " ");
    for (;;) {
        const next = text.replace(/pulumi\.(Input|Output)<([^<>]*(?:<[^<>]*(?:<[^<>]*>[^<>]*)*>[^<>]*)*)>/g, "$2");
        if (next === text) return text;
        text = next;
    }
}

/** One declared property: name, schema and description. */
interface Declared { name: string; optional: boolean; spec: Spec }

/** Reads the properties of interfaces and classes from the package's TypeScript sources. */
class Declarations {
    private readonly program: ts.Program;
    private readonly checker: ts.TypeChecker;

    constructor(files: string[]) {
        this.program = ts.createProgram(files.map((f) => path.join(ROOT, f)), { target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, noResolve: false });
        this.checker = this.program.getTypeChecker();
    }

    /** The members of interface or class `name` in `file` (with inherited ones for `extends`, own first). */
    members(file: string, name: string, filter: (m: ts.ClassElement | ts.TypeElement) => boolean = () => true): Declared[] {
        const source = this.program.getSourceFile(path.join(ROOT, file));
        if (!source) throw new Error(`schema: no source ${file}`);
        const decl = source.statements.find((s): s is ts.InterfaceDeclaration | ts.ClassDeclaration =>
            (ts.isInterfaceDeclaration(s) || ts.isClassDeclaration(s)) && s.name?.text === name);
        if (!decl) throw new Error(`schema: no interface or class ${name} in ${file}`);
        const own: Declared[] = [];
        for (const m of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
            if (!(ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) || !ts.isIdentifier(m.name) || !filter(m)) continue;
            const text = typeText(m.type, source);
            const spec = TYPES[text];
            if (!spec) throw new Error(`schema: ${name}.${m.name.text} has type "${text}", which the schema generator does not map; add it to TYPES`);
            const symbol = this.checker.getSymbolAtLocation(m.name);
            const description = symbol ? ts.displayPartsToString(symbol.getDocumentationComment(this.checker)).trim() : "";
            if (!description) throw new Error(`schema: ${name}.${m.name.text} has no doc comment (the schema's description comes from it)`);
            own.push({ name: m.name.text, optional: !!m.questionToken, spec: { ...spec, description } });
        }
        const inherited: Declared[] = [];
        for (const clause of decl.heritageClauses ?? []) {
            for (const t of clause.types) {
                const base = t.expression.getText(source);
                if (base.startsWith("pulumi.")) continue;
                inherited.push(...this.members(file, base, filter));
            }
        }
        return [...own, ...inherited.filter((i) => !own.some((o) => o.name === i.name))];
    }
}

function properties(list: Declared[]): Record<string, Spec> {
    return Object.fromEntries(list.map((d) => [d.name, d.spec]));
}

/** A class's outputs: its public readonly `pulumi.Output` fields. */
const isReadonlyField = (m: ts.ClassElement | ts.TypeElement): boolean =>
    ts.isPropertyDeclaration(m) && !!m.type && /^pulumi\.Output</.test(m.type.getText()) && !!m.modifiers?.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) &&
    !m.modifiers?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword || x.kind === ts.SyntaxKind.StaticKeyword);

/** The plugin's schema, generated from the TypeScript declarations. */
export function generateSchema(): Record<string, unknown> {
    const d = new Declarations(["provider/resource.ts", "provider/vault-backup.ts", "provider/plugin/config.ts"]);
    const resources: Record<string, Spec> = {};
    for (const kindName of OBJECT_KINDS) {
        const kind: KindInfo = KINDS[kindName];
        const inputs = d.members("provider/resource.ts", `${kind.resourceName}Args`, (m) => !(m.name && ts.isIdentifier(m.name) && TYPESCRIPT_ONLY.has(m.name.text)));
        const outputs = d.members("provider/resource.ts", `${kind.resourceName}Outputs`);
        resources[PLUGIN_TYPES[kindName]] = {
            description: classDoc(kind),
            properties: properties(outputs),
            required: outputs.map((o) => o.name).sort(),
            inputProperties: properties(inputs),
            requiredInputs: ["vaultUrl", kind.nameInput],
        };
    }
    const vaultInputs = d.members("provider/vault-backup.ts", "VaultBackupArgs");
    const vaultOutputs = d.members("provider/vault-backup.ts", "VaultBackup", isReadonlyField);
    // The plugin's construct returns VAULT_BACKUP_OUTPUTS: the class's outputs and that list must agree.
    if (vaultOutputs.map((o) => o.name).join() !== VAULT_BACKUP_OUTPUTS.join()) {
        throw new Error(`schema: VaultBackup's Output fields (${vaultOutputs.map((o) => o.name).join(", ")}) are not VAULT_BACKUP_OUTPUTS (${VAULT_BACKUP_OUTPUTS.join(", ")})`);
    }
    resources[PLUGIN_VAULT_BACKUP_TYPE] = {
        isComponent: true,
        description:
            "Backs up every secret, key and certificate of a vault (optionally only some `kinds`, filtered by `include`/`exclude`) as one child " +
            "backup resource each, named `<name>/<secret>`, `<name>/keys/<key>` and `<name>/certificates/<certificate>`. The plugin lists the vault " +
            "when the program runs, so an object added, rotated or removed is followed by the next `pulumi up`.",
        properties: properties(vaultOutputs),
        required: vaultOutputs.map((o) => o.name).sort(),
        inputProperties: properties(vaultInputs),
        requiredInputs: vaultInputs.filter((p) => !p.optional).map((p) => p.name),
    };
    const config = d.members("provider/plugin/config.ts", "PluginConfigValues").map((p) =>
        (SECRET_CONFIG_KEYS as readonly string[]).includes(p.name) ? { ...p, spec: { ...p.spec, secret: true } } : p);
    const patterns = Object.fromEntries(OBJECT_KINDS.map((k) => [k, { type: "array", items: { type: "string" }, description: `Name patterns for ${KINDS[k].plural}.` }]));
    const backedUp = d.members("provider/vault-backup.ts", "BackedUpObject");
    return {
        name: PACKAGE_NAME,
        displayName: "Key Vault Backup",
        version: PACKAGE_VERSION,
        description: "Back up Azure Key Vault secrets, keys and certificates (every version, with Key Vault's Backup operations) to a folder or Blob Storage, with the backups' hashes and locations as state.",
        keywords: ["pulumi", "azure", "keyvault", "backup", "category/utility", "kind/component"],
        license: "MIT",
        meta: { moduleFormat: "(.*)" },
        config: { variables: properties(config) },
        provider: { description: "The keyvault-backup provider: how it signs in to Key Vault and paces its calls.", inputProperties: properties(config) },
        types: {
            [KIND_PATTERNS]: { type: "object", description: "Name patterns per kind (`*` any run of characters, `?` one; case-insensitive); a kind left out takes the default.", properties: patterns },
            [BACKED_UP_OBJECT]: { type: "object", description: "What `objects` tells about one backed-up object.", properties: properties(backedUp), required: backedUp.map((p) => p.name) },
        },
        resources,
        language: {
            python: { packageName: "pulumi_keyvault_backup", pyproject: { enabled: true }, respectSchemaVersion: true },
            go: { importBasePath: "pulumi-keyvault-backup/sdk/go/keyvaultbackup", generateResourceContainerTypes: false, respectSchemaVersion: true },
            csharp: { rootNamespace: "KeyVaultBackup", respectSchemaVersion: true, packageReferences: { Pulumi: "3.*" } },
        },
    };
}

function classDoc(kind: KindInfo): string {
    const what = kind.kind === "certificate" ? "certificate (every version, with its key and secret)" : `${kind.noun} (every version)`;
    return `Backs up one Key Vault ${what} with Backup ${kind.title} to a folder or Blob Storage, keeping the blob's SHA-256, location and the version it holds as state. ` +
        "A new backup is taken when an input changes, when a refresh finds a new version in the vault or the stored blob missing or changed; earlier backups are never deleted.";
}

/** The schema as committed: two-space JSON with a final newline. */
export function schemaText(): string {
    return `${JSON.stringify(generateSchema(), null, 2)}\n`;
}

if (require.main === module) {
    fs.mkdirSync(path.dirname(SCHEMA_PATH), { recursive: true });
    fs.writeFileSync(SCHEMA_PATH, schemaText());
    console.log(`schema: wrote ${path.relative(process.cwd(), SCHEMA_PATH)}`);
}
