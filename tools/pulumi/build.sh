#!/usr/bin/env bash
# `npm run -s pulumi-cli`: builds the Pulumi CLI (`pulumi`), its Node.js language host
# (`pulumi-language-nodejs`) and the dynamic-provider plugin (`pulumi-resource-pulumi-nodejs`) into
# .cache/pulumi/bin from the Go modules pinned in tools/pulumi, with no prebuilt download. A build
# whose pins have not changed is reused. The last line printed is the folder's absolute path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/.cache/pulumi/bin"

if ! command -v go >/dev/null 2>&1; then
    echo "pulumi-cli: no 'go' on PATH. The Pulumi CLI is built from its Go modules; install Go 1.25.11 or newer" >&2
    echo "  (https://go.dev/doc/install, or your system's golang package), then run: npm run -s pulumi-cli" >&2
    exit 1
fi

# The release is the version of pkg/v3 that tools/pulumi/go.mod requires.
version=$(sed -n "s|^[[:space:]]*github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\)\( // indirect\)\{0,1\}$|\1|p" "$here/go.mod")
[ -n "$version" ] || { echo "pulumi-cli: no github.com/pulumi/pulumi/pkg/v3 version in $here/go.mod" >&2; exit 1; }

# Everything that decides what gets built: the pins, this script, the plugin script, the Go version.
stamp=$( { cat "$here/go.mod" "$here/go.sum" "$here/language-nodejs/go.mod" "$here/language-nodejs/go.sum" \
    "$here/build.sh" "$here/pulumi-resource-pulumi-nodejs"; go version; } | sha256sum | cut -d' ' -f1)
if [ -f "$bin/.stamp" ] && [ "$(cat "$bin/.stamp")" = "$stamp" ] &&
    [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ -x "$bin/pulumi-resource-pulumi-nodejs" ]; then
    echo "pulumi-cli: reusing the build of pulumi $version (pins unchanged)" >&2
    echo "$bin"
    exit 0
fi

started=$(date +%s)
echo "pulumi-cli: building pulumi $version from its Go modules (minutes on a fresh machine; Go's caches make a rebuild quick)" >&2
next="$bin.next"
rm -rf "$next"
mkdir -p "$next"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
(cd "$here" && go build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o "$next/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
hostVersion=$(sed -n "s|^[[:space:]]*github.com/pulumi/pulumi/sdk/v3 \(v[0-9.]*\)\( // indirect\)\{0,1\}$|\1|p" "$here/language-nodejs/go.mod")
(cd "$here/language-nodejs" && go build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$hostVersion" \
    -o "$next/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
cp "$here/pulumi-resource-pulumi-nodejs" "$next/"
echo "$stamp" > "$next/.stamp"
rm -rf "$bin"
mv "$next" "$bin"
echo "pulumi-cli: built $("$bin/pulumi" version) in $(( $(date +%s) - started )) s" >&2
echo "$bin"
