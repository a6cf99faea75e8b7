// Command pulumi-sdkgen writes a Pulumi package's SDK for one language from its schema, with the
// code generators of the pinned Pulumi release (github.com/pulumi/pulumi/pkg/v3/codegen): the same
// code `pulumi package gen-sdk` runs, called directly, because that command asks the language
// host to generate, and the language hosts built here (older releases, see the top of
// ../language-nodejs/go.mod) predate that call.
//
// For Go it also writes the module's go.mod (see addGoMod).
//
// Usage: pulumi-sdkgen <schema.json> <python|go|nodejs> <out-dir>
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"

	"github.com/blang/semver"
)

// noPackages is the loader for a schema that refers to no other package: any reference is an error.
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %q; this generator loads no other package", pkg)
}

func (l noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return l.LoadPackage(d.Name, nil)
}

func (noPackages) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %q; this generator loads no other package", pkg)
}

func (l noPackages) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return l.LoadPackageReference(d.Name, nil)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-sdkgen <schema.json> <python|go|nodejs> <out-dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-sdkgen: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaPath, language, out string) error {
	text, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(text, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s: %v", schemaPath, diags)
	}
	const tool = "pulumi-sdkgen"
	var files map[string][]byte
	switch language {
	case "python":
		files, err = python.GeneratePackage(tool, pkg, nil, noPackages{})
	case "go":
		if files, err = gogen.GeneratePackage(tool, pkg, nil); err == nil {
			err = addGoMod(pkg, files)
		}
	case "nodejs":
		files, err = nodejs.GeneratePackage(tool, pkg, nil, nil, false, noPackages{})
	default:
		return fmt.Errorf("language %q: use python, go or nodejs", language)
	}
	if err != nil {
		return fmt.Errorf("generating the %s SDK: %w", language, err)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	for name, body := range files {
		file := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(file, body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goVersion is the Go version the generated module names: the one github.com/pulumi/pulumi/sdk/v3
// at the pinned release requires (v3.248.0: go 1.25.11).
const goVersion = "1.25.11"

// addGoMod adds the go.mod the Go code generator leaves out, so a program can use the SDK through
// a `replace` of its module path (the parent of the schema's importBasePath) with the output
// folder. It requires the sdk/v3 version this generator is built with: the release's.
func addGoMod(pkg *schema.Package, files map[string][]byte) error {
	info, ok := pkg.Language["go"].(gogen.GoPackageInfo)
	if !ok || info.ImportBasePath == "" {
		return fmt.Errorf("the schema has no language.go.importBasePath")
	}
	sdk := ""
	if build, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range build.Deps {
			if dep.Path == "github.com/pulumi/pulumi/sdk/v3" {
				sdk = dep.Version
			}
		}
	}
	if sdk == "" {
		return fmt.Errorf("no github.com/pulumi/pulumi/sdk/v3 version in this generator's build info")
	}
	files["go.mod"] = []byte(fmt.Sprintf("module %s\n\ngo %s\n\nrequire github.com/pulumi/pulumi/sdk/v3 %s\n",
		path.Dir(info.ImportBasePath), goVersion, sdk))
	return nil
}
