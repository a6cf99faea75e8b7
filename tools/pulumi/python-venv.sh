#!/usr/bin/env bash
# Makes the Python virtual environment that Python Pulumi programs run in through the CLI:
# .cache/pulumi/python, with the `pulumi` SDK at the CLI's release and its dependencies as pinned
# (with hashes) by tools/pulumi/requirements.txt, installed from PyPI by pip. build.sh
# (`npm run -s pulumi-cli`) runs it; it is reused while the requirements, this script, python3's
# version and the folder's path are unchanged (a virtual environment holds absolute paths, so a
# moved clone gets a new one). The last line printed is the environment's absolute path.
#
# Point a program at it with `PULUMI_PYTHON_CMD=<it>/bin/python` (or its bin folder first on
# PATH): the Python language host here (sdk/v3 v3.68.0) takes `runtime.options.virtualenv` only
# as a command-line flag, which the v3.248.0 CLI no longer passes, so Pulumi.yaml's option is
# ignored (see the top of tools/pulumi/language-nodejs/go.mod).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/.cache/pulumi/python"

if ! command -v python3 >/dev/null 2>&1; then
    echo "python-venv: no 'python3' on PATH; install Python 3.9 or newer for Python programs" >&2
    exit 1
fi

stamp=$( { cat "$here/requirements.txt" "$here/python-venv.sh"; echo "$venv"; python3 --version; } |
    sha256sum | cut -d' ' -f1)
if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$stamp" ] && [ -x "$venv/bin/python" ]; then
    echo "python-venv: reusing $venv (requirements unchanged)" >&2
    echo "$venv"
    exit 0
fi

started=$(date +%s)
echo "python-venv: making $venv from tools/pulumi/requirements.txt" >&2
# Made in place (a virtual environment cannot be moved); the stamp, written last, marks it whole.
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --only-binary :all: -r "$here/requirements.txt" >&2
"$venv/bin/python" -c 'import pulumi'
echo "$stamp" > "$venv/.stamp"
echo "python-venv: made it ($("$venv/bin/python" -m pip show pulumi | sed -n 's/^Version: /pulumi /p')) in $(( $(date +%s) - started )) s" >&2
echo "$venv"
