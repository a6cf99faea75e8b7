#!/usr/bin/env bash
# `npm run -s pulumi-cli`: builds the Pulumi CLI (`pulumi`), its language hosts, an SDK generator and the
# dynamic-provider plugin (`pulumi-resource-pulumi-nodejs`) into .cache/pulumi/bin from the Go
# modules pinned in tools/pulumi, with no prebuilt download:
#   pulumi                        go.mod                          pkg/v3 (the CLI's release)
#   pulumi-language-nodejs        language-nodejs/go.mod          sdk/v3 v3.68.0
#   pulumi-language-python        language-nodejs/go.mod          sdk/v3 v3.68.0, same module
#   pulumi-language-python-exec   the script the Python host runs, from sdk/v3 at the CLI's release
#   pulumi-language-yaml          language-yaml/go.mod            github.com/pulumi/pulumi-yaml
#   pulumi-language-go            language-go/go.mod              sdk/v3 v3.66.0
#   pulumi-sdkgen                 go.mod (sdkgen/)                pkg/v3's code generators (SDKs from a schema)
# (why those releases: the comments at the top of each go.mod). Then python-venv.sh makes the
# Python virtual environment for Python programs (.cache/pulumi/python, from requirements.txt);
# without python3 or PyPI that step only warns. A build whose pins have not changed is reused.
# The last line printed is the bin folder's absolute path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/.cache/pulumi/bin"

if ! command -v go >/dev/null 2>&1; then
    echo "pulumi-cli: no 'go' on PATH. The Pulumi CLI is built from its Go modules; install Go 1.25.11 or newer" >&2
    echo "  (https://go.dev/doc/install, or your system's golang package), then run: npm run -s pulumi-cli" >&2
    exit 1
fi

# The version a module folder's go.mod requires of a module (the release a binary is stamped with).
required() {
    local v
    v=$(sed -n "s|^\(require\)\{0,1\}[[:space:]]*$2 \(v[0-9.]*\)\( // indirect\)\{0,1\}$|\2|p" "$here/$1/go.mod")
    [ -n "$v" ] || { echo "pulumi-cli: no $2 version in $here/$1/go.mod" >&2; exit 1; }
    echo "$v"
}
# The release is the version of pkg/v3 that tools/pulumi/go.mod requires.
version=$(required . github.com/pulumi/pulumi/pkg/v3)
nodeHosts=$(required language-nodejs github.com/pulumi/pulumi/sdk/v3)
yamlHost=$(required language-yaml github.com/pulumi/pulumi-yaml)
goHost=$(required language-go github.com/pulumi/pulumi/sdk/v3)

# The Python virtual environment: its own script and stamp (reused in a few milliseconds when
# unchanged). Python programs need it; nothing else does, so a failure here does not fail the CLI.
venv() {
    bash "$here/python-venv.sh" >/dev/null ||
        echo "pulumi-cli: warning: no Python virtual environment (see above); Python programs will not run" >&2
}

# Everything that decides what gets built: the pins, this script, the plugin script, the Go version.
modules=(. language-nodejs language-yaml language-go)
executables=(pulumi pulumi-language-nodejs pulumi-language-python pulumi-language-python-exec
    pulumi-language-yaml pulumi-language-go pulumi-resource-pulumi-nodejs pulumi-sdkgen)
stamp=$( { for m in "${modules[@]}"; do cat "$here/$m/go.mod" "$here/$m/go.sum"; done
    cat "$here/build.sh" "$here/pulumi-resource-pulumi-nodejs" "$here/sdkgen/main.go"; go version; } | sha256sum | cut -d' ' -f1)
fresh=true
[ -f "$bin/.stamp" ] && [ "$(cat "$bin/.stamp")" = "$stamp" ] || fresh=false
for e in "${executables[@]}"; do [ -x "$bin/$e" ] || fresh=false; done
if $fresh; then
    echo "pulumi-cli: reusing the build of pulumi $version (pins unchanged)" >&2
    venv
    echo "$bin"
    exit 0
fi

started=$(date +%s)
echo "pulumi-cli: building pulumi $version and its language hosts from their Go modules (minutes on a fresh machine; Go's caches make a rebuild quick)" >&2
next="$bin.next"
rm -rf "$next"
mkdir -p "$next"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
stamped="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
(cd "$here" && go build -trimpath -ldflags "$stamped=$version" \
    -o "$next/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
# The SDK generator: the release's own code generators (see sdkgen/main.go for why not gen-sdk).
(cd "$here" && go build -trimpath -o "$next/pulumi-sdkgen" ./sdkgen)
(cd "$here/language-nodejs" && go build -trimpath \
    -ldflags "$stamped=$nodeHosts" -o "$next/" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
    github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python)
(cd "$here/language-yaml" && go build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$yamlHost" \
    -o "$next/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml)
(cd "$here/language-go" && go build -trimpath \
    -ldflags "$stamped=$goHost" \
    -o "$next/pulumi-language-go" github.com/pulumi/pulumi/sdk/v3/go/pulumi-language-go)
# The Python host runs the program through this script, which it looks for beside its own
# executable. The release's script, not v3.68.0's: it takes every argument the older host passes
# (it only adds an optional --root_directory) and is the one made for the SDK the venv installs.
sdk=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 755 "$sdk/python/cmd/pulumi-language-python-exec" "$next/"
cp "$here/pulumi-resource-pulumi-nodejs" "$next/"
echo "$stamp" > "$next/.stamp"
rm -rf "$bin"
mv "$next" "$bin"
echo "pulumi-cli: built $("$bin/pulumi" version) and its language hosts in $(( $(date +%s) - started )) s" >&2
venv
echo "$bin"
