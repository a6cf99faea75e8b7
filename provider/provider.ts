/**
 * The provider object Pulumi serializes into every backup resource's `__provider` when this package
 * runs from a checkout (installed under node_modules, `dynamic.ts` is the provider). It is kept thin
 * on purpose: it holds one string, the module id of `operations`, and each method `require`s that
 * module inside the provider host (whose working directory is the Pulumi project, so the id
 * resolves there). Nothing live or secret is captured. Only type imports at the top: anything
 * imported here would be serialized by value.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";

/**
 * A provider whose methods delegate to the module `operationsModuleId` (a package path such as
 * `pulumi-keyvault-backup/dist/provider/operations`, or a path relative to the project root such
 * as `./dist/provider/operations`). The module is loaded on first use inside the host.
 */
export function makeProvider(operationsModuleId: string): dynamic.ResourceProvider {
    // `require` here is the one the host gives the deserialized code: it resolves from the host's cwd.
    const load = () => require(operationsModuleId);
    return {
        configure: async (req) => load().configure(req.config),
        check: async (olds, news) => load().check(olds, news),
        diff: async (id, olds, news) => load().diff(id, olds, news),
        create: async (news) => load().create(news),
        update: async (id, olds, news) => load().update(id, olds, news),
        read: async (id, props) => load().read(id, props),
        delete: async (id, props) => load().delete(id, props),
    };
}
