#!/usr/bin/env bash
# Verify docker/Dockerfile, with or without a Docker engine.
#
#   docker/verify.sh [--no-cache]        (from anywhere; needs root without an engine)
#
# With an engine (`docker info` answers) it builds the image and runs the smoke
# checks with `docker run`. Without one it emulates the Dockerfile by
# interpreting its instructions, so that it tests the file itself and stops on
# any instruction it does not understand:
#   - a stage FROM rust:<version>-*-<suite> runs on this host, which must be that
#     Debian suite with that rustc (it stands in for the base image). COPY fills a
#     scratch directory with only what the Dockerfile copies (so the build proves
#     the copied set is enough); RUN lines run there with `sh -c`. apt-get installs
#     only what the host lacks, and image clean-ups of the host's apt state are
#     skipped. The WORKDIR's `target/` is a persistent cache (the equivalent of a
#     BuildKit cache mount): reruns are incremental.
#   - a stage FROM debian:<suite>[-slim] starts from `debootstrap --variant=minbase`
#     with the official image's apt/dpkg settings (and slimming for -slim), cached;
#     RUN lines run inside it as in `docker build` (chroot, /proc, /dev, the host's
#     resolv.conf), each cached by its instruction like a layer.
#   - the final stage is then run as the image would be: its USER (uid and the
#     passwd group), WORKDIR, ENV only (env -i), ENTRYPOINT + CMD, a temporary
#     directory bind-mounted at /work as `docker run -v DIR:/work` would.
# Noisy output goes to a log; stdout gets one line per step and PASS or FAIL.
# Environment: CT_DOCKERFILE (another Dockerfile, e.g. a mutant), CT_DOCKER_VERIFY_CACHE,
# CT_DEBIAN_MIRROR.
set -euo pipefail
umask 022

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERFILE="${CT_DOCKERFILE:-$REPO/docker/Dockerfile}"
TAG=chronotrace-ops:verify
CACHE="${CT_DOCKER_VERIFY_CACHE:-$HOME/.cache/chronotrace-ops/docker-verify}"
MIRROR="${CT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NO_CACHE=0
case "${1:-}" in
  --no-cache) NO_CACHE=1 ;;
  "") ;;
  *) echo "usage: docker/verify.sh [--no-cache]" >&2; exit 2 ;;
esac

mkdir -p "$CACHE/logs"
exec 9>"$CACHE/lock"
flock -n 9 || { echo "FAIL: another docker/verify.sh is running (lock $CACHE/lock)"; exit 1; }
LOG="$CACHE/logs/last.log"
: >"$LOG"
T0=$SECONDS
MOUNTS=()
RUN_DIR=""
SMOKE_DIR=""
BASE=""
# The uid of a host user's checkout in the /work test (the invoking user, or
# 1000 when run as root).
HOST_UID="${SUDO_UID:-$(id -u)}"
[[ "$HOST_UID" != 0 ]] || HOST_UID=1000

# ---- output -------------------------------------------------------------------

step() { printf '%-8s %s\n' "$1" "$2"; }
fail() {
  printf 'FAIL     %s\n' "$*"
  echo "FAIL (log: $LOG)"
  exit 1
}
# Runs a command with its output in the log; on failure shows the log's tail.
logged() {
  local what="$1"
  shift
  echo "+ $*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    tail -n 12 "$LOG" | sed 's/^/  | /'
    fail "$what"
  fi
}
since() { echo "$((SECONDS - $1)) s"; }

# ---- mounts and clean-up ------------------------------------------------------

mount_tracked() {
  mount "$@"
  MOUNTS+=("${*: -1}")
}
umount_tracked() {
  local target="$1" i
  umount "$target" 2>/dev/null || umount -l "$target"
  for i in "${!MOUNTS[@]}"; do
    [[ "${MOUNTS[$i]}" == "$target" ]] && unset 'MOUNTS[i]'
  done
  MOUNTS=("${MOUNTS[@]}")
}
# True if anything is still mounted at or below $1 (never delete through a mount).
mounted_under() {
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts
}
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
  done
  for dir in "$RUN_DIR" "$SMOKE_DIR"; do
    [[ -n "$dir" && -d "$dir" ]] || continue
    if mounted_under "$dir"; then
      echo "warning: $dir still has mounts; left in place" >&2
    else
      rm -rf "$dir"
    fi
  done
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

# ---- Dockerfile parsing -------------------------------------------------------

# INSTR[i] KEYWORD (upper case), ARGS[i] the rest, LINENO_OF[i] its first line.
INSTR=()
ARGS=()
LINENO_OF=()
parse_dockerfile() {
  local line n=0 start=0 cur="" first=1
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    if [[ $first == 1 && "$line" =~ ^#[[:space:]]*(syntax|escape|check)[[:space:]]*= ]]; then
      fail "Dockerfile:$n: parser directive '$line' is not emulated"
    fi
    [[ "$line" =~ ^[[:space:]]*# ]] && continue
    first=0
    if [[ -z "$cur" ]]; then
      [[ "$line" =~ ^[[:space:]]*$ ]] && continue
      start=$n
    fi
    if [[ "$line" =~ ^(.*)\\[[:space:]]*$ ]]; then
      cur+="${BASH_REMATCH[1]}"
      continue
    fi
    cur+="$line"
    if [[ ! "$cur" =~ ^[[:space:]]*([A-Za-z]+)[[:space:]]*(.*)$ ]]; then
      fail "Dockerfile:$start: cannot read '$cur'"
    fi
    INSTR+=("${BASH_REMATCH[1]^^}")
    ARGS+=("${BASH_REMATCH[2]}")
    LINENO_OF+=("$start")
    [[ "${BASH_REMATCH[2]}" == *'<<'* ]] && fail "Dockerfile:$start: heredocs are not emulated"
    cur=""
  done <"$DOCKERFILE"
  [[ -z "$cur" ]] || fail "Dockerfile: ends inside a continued line"
  ((${#INSTR[@]} > 0)) || fail "Dockerfile: no instructions"
}

# A JSON array (exec form) into the array named $2; a string (shell form) as sh -c.
to_argv() {
  local text="$1"
  local -n out="$2"
  out=()
  if [[ "$text" =~ ^[[:space:]]*\[ ]]; then
    jq -e 'type == "array" and all(type == "string")' <<<"$text" >/dev/null 2>&1 \
      || fail "not a JSON array of strings: $text"
    mapfile -d '' out < <(jq -j '.[] | (., "\u0000")' <<<"$text")
  else
    # shellcheck disable=SC2034 # out is the caller's array (nameref)
    out=(/bin/sh -c "$text")
  fi
}

no_substitution() {
  [[ "$2" != *'$'* ]] || fail "Dockerfile:$1: variable substitution is not emulated: $2"
}

# ---- stages ---------------------------------------------------------------------

# The current stage: its kind (host|root), name, root directory, WORKDIR, USER,
# ENV (NAME=VALUE words), ENTRYPOINT and CMD (argv, set when present).
S_KIND=""
S_NAME=""
S_ROOT=""
S_WORKDIR=/
S_USER=root
S_ENV=()
S_LAYER=""
ENTRYPOINT=()
CMD=()
declare -A STAGE_ROOTS=()
STAGE_COUNT=0

emulate_from() {
  local ln="$1" args="$2" image as name="" extra tag
  no_substitution "$ln" "$args"
  [[ "$args" != --* ]] || fail "Dockerfile:$ln: FROM flags are not emulated: $args"
  read -r image as name extra <<<"$args" || true
  if [[ -n "${as:-}" && ( "${as,,}" != as || -z "$name" || -n "${extra:-}" ) ]]; then
    fail "Dockerfile:$ln: cannot read FROM $args"
  fi
  S_NAME="${name:-$STAGE_COUNT}"
  S_WORKDIR=/
  S_USER=root
  S_ENV=()
  ENTRYPOINT=()
  CMD=()
  S_ROOT="$RUN_DIR/stage-$STAGE_COUNT"
  STAGE_ROOTS["$STAGE_COUNT"]="$S_ROOT"
  [[ -n "$name" ]] && STAGE_ROOTS["$name"]="$S_ROOT"
  STAGE_COUNT=$((STAGE_COUNT + 1))
  tag="${image#*:}"
  [[ "$tag" != "$image" ]] || fail "Dockerfile:$ln: untagged base image $image"
  case "$image" in
    rust:*) from_host_rust "$ln" "$tag" ;;
    debian:*) from_debian_root "$ln" "$tag" ;;
    *) fail "Dockerfile:$ln: no emulation for base image $image" ;;
  esac
}

# rust:<version>-[slim-]<suite>: this host stands in for the image.
from_host_rust() {
  local ln="$1" tag="$2" version suite have_suite have_rustc
  version="${tag%%-*}"
  suite="${tag##*-}"
  # shellcheck disable=SC1091 # the host's file
  have_suite="$(. /etc/os-release && echo "${ID:-}:${VERSION_CODENAME:-}")"
  [[ "$have_suite" == "debian:$suite" ]] \
    || fail "Dockerfile:$ln: the host ($have_suite) is not the base image's Debian $suite"
  have_rustc="$(rustc --version 2>/dev/null || true)"
  [[ "$have_rustc" == "rustc $version."* || "$have_rustc" == "rustc $version "* ]] \
    || fail "Dockerfile:$ln: host ${have_rustc:-has no rustc}, the base image has rust $version"
  command -v cargo >/dev/null || fail "Dockerfile:$ln: no cargo on the host"
  S_KIND=host
  mkdir -p "$S_ROOT"
  step FROM "rust:$tag as '$S_NAME' = this host (Debian $suite, ${have_rustc%% (*})"
}

# debian:<suite>[-slim]: a debootstrap minbase root configured (and slimmed)
# as Debian's official images are, cached.
from_debian_root() {
  local ln="$1" tag="$2" suite="${2%-slim}" base t
  [[ "$suite" =~ ^[a-z]+$ ]] || fail "Dockerfile:$ln: no emulation for debian:$tag"
  [[ $EUID == 0 ]] || fail "emulating FROM debian needs root (debootstrap, chroot, mount)"
  base="$CACHE/base/debian-$tag"
  BASE="$base"
  t=$SECONDS
  if [[ ! -d "$base" ]]; then
    if ! command -v debootstrap >/dev/null; then
      logged "apt-get install debootstrap" apt-get update
      logged "apt-get install debootstrap" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends debootstrap
    fi
    rm -rf "$base.tmp"
    mkdir -p "$CACHE/base"
    logged "debootstrap $suite" debootstrap --variant=minbase "$suite" "$base.tmp" "$MIRROR"
    debian_image_sources "$suite" >"$base.tmp/etc/apt/sources.list.d/debian.sources"
    rm -f "$base.tmp/etc/apt/sources.list"
    logged "clean the base" chroot "$base.tmp" apt-get clean
    rm -rf "$base.tmp/var/lib/apt/lists/"*
    debian_image_config "$base.tmp"
    [[ "$tag" == *-slim ]] && slimify "$base.tmp"
    mv "$base.tmp" "$base"
    step FROM "debian:$tag as '$S_NAME' = debootstrap minbase $suite ($(since "$t"), $(du_mib "$base"))"
  else
    step FROM "debian:$tag as '$S_NAME' = debootstrap minbase $suite (cached, $(du_mib "$base"))"
  fi
  S_KIND=root
  S_LAYER="$(printf '%s' "$base" | sha256sum | cut -c1-16)"
  cp -a --reflink=auto "$base" "$S_ROOT"
}

# The apt and dpkg settings of Debian's official images (debuerreotype): no
# package caches, compressed indexes, no translations. Without them every
# `apt-get install` layer keeps ~80 MiB of caches the real image does not.
debian_image_config() {
  local apt="$1/etc/apt/apt.conf.d"
  cat >"$apt/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::GzipIndexes "true";' >"$apt/docker-gzip-indexes"
  echo 'Acquire::Languages "none";' >"$apt/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$apt/docker-autoremove-suggests"
  echo force-unsafe-io >"$1/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
}

# The -slim variants: documentation, man pages and translations excluded from
# dpkg and removed, as debuerreotype's slimify does (copyrights kept).
slimify() {
  local share="$1/usr/share"
  cat >"$1/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-include /usr/share/doc/*/copyright
path-include /usr/share/locale/locale.alias
EOF
  find "$share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$share/info" "$share/linda" "$share/lintian/overrides" "$share/man"
  find "$share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
}

# The apt sources of Debian's official images (the suite, its updates, security).
debian_image_sources() {
  cat <<EOF
Types: deb
URIs: $MIRROR
Suites: $1 $1-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $1-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

du_mib() { du -sxm "$1" | awk '{ print $1 " MiB" }'; }

# ---- instructions ----------------------------------------------------------------

abs_in_stage() {
  if [[ "$1" == /* ]]; then echo "$1"; else echo "${S_WORKDIR%/}/$1"; fi
}

emulate_workdir() {
  no_substitution "$1" "$2"
  S_WORKDIR="$(abs_in_stage "$2")"
  mkdir -p "$S_ROOT$S_WORKDIR"
  step WORKDIR "$S_WORKDIR"
}

emulate_env() {
  local ln="$1" args="$2" word
  no_substitution "$ln" "$args"
  [[ "$args" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] \
    || fail "Dockerfile:$ln: only ENV NAME=VALUE is emulated: $args"
  for word in $args; do
    [[ "$word" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(\"?)([^\"]*)(\"?)$ && "${BASH_REMATCH[2]}" == "${BASH_REMATCH[4]}" ]] \
      || fail "Dockerfile:$ln: cannot read ENV word '$word'"
    S_ENV+=("${BASH_REMATCH[1]}=${BASH_REMATCH[3]}")
  done
  step ENV "$args"
}

emulate_user() {
  no_substitution "$1" "$2"
  [[ "$2" =~ ^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$ ]] || fail "Dockerfile:$1: cannot read USER $2"
  S_USER="$2"
  step USER "$2"
}

emulate_copy() {
  local ln="$1" args="$2" from="" src_root words dest i
  no_substitution "$ln" "$args"
  read -r -a words <<<"$args"
  while [[ "${words[0]}" == --* ]]; do
    case "${words[0]}" in
      --from=*) from="${words[0]#--from=}" ;;
      *) fail "Dockerfile:$ln: COPY flag ${words[0]} is not emulated" ;;
    esac
    words=("${words[@]:1}")
  done
  ((${#words[@]} >= 2)) || fail "Dockerfile:$ln: COPY needs a source and a destination"
  dest="$(abs_in_stage "${words[-1]}")"
  [[ "${words[-1]}" == */ ]] && dest="${dest%/}/"
  unset 'words[-1]'
  if [[ -n "$from" ]]; then
    src_root="${STAGE_ROOTS[$from]:-}"
    [[ -n "$src_root" ]] || fail "Dockerfile:$ln: COPY --from=$from names no earlier stage"
  fi
  ((${#words[@]} == 1)) || [[ "$dest" == */ ]] \
    || fail "Dockerfile:$ln: COPY of several sources needs a destination ending in /"
  for i in "${words[@]}"; do
    if [[ -n "$from" ]]; then
      [[ "$i" == /* ]] || i="/$i"
      [[ -e "$src_root$i" ]] || fail "Dockerfile:$ln: COPY --from=$from: $i not found in that stage"
      copy_one "$src_root$i" "$dest"
    else
      copy_from_context "$ln" "$i" "$dest"
    fi
  done
  step COPY "$args"
}

# Copies $1 (a file or a directory's contents) to stage path $2, owned by root
# as COPY does, dereferencing the stage root's symlinked caches.
copy_one() {
  local src="$1" dest="$2" target
  if [[ -d "$src" ]]; then
    mkdir -p "$S_ROOT${dest%/}"
    cp -a "$src/." "$S_ROOT${dest%/}/"
    [[ $EUID == 0 ]] && chown -R 0:0 "$S_ROOT${dest%/}"
  else
    if [[ "$dest" == */ || -d "$S_ROOT$dest" ]]; then
      target="$S_ROOT${dest%/}/$(basename "$src")"
    else
      target="$S_ROOT$dest"
    fi
    mkdir -p "$(dirname "$target")"
    cp -L --preserve=mode,timestamps "$src" "$target"
    [[ $EUID == 0 ]] && chown 0:0 "$target"
  fi
  return 0
}

# .dockerignore patterns (no exceptions): does context path $1 match one?
IGNORES=()
load_dockerignore() {
  local p
  [[ -f "$REPO/.dockerignore" ]] || return 0
  while IFS= read -r p || [[ -n "$p" ]]; do
    p="${p#"${p%%[![:space:]]*}"}"
    p="${p%"${p##*[![:space:]]}"}"
    [[ -z "$p" || "$p" == \#* ]] && continue
    [[ "$p" != '!'* ]] || fail ".dockerignore: exception patterns are not emulated: $p"
    p="${p#/}"
    IGNORES+=("${p%/}")
  done <"$REPO/.dockerignore"
}
ignored() {
  local p
  for p in "${IGNORES[@]}"; do
    # shellcheck disable=SC2053 # the pattern is a glob on purpose
    [[ "$1" == $p || "$1" == $p/* ]] && return 0
  done
  return 1
}

# COPY <context source> <dest>: globs expanded in the context, ignored files left out.
copy_from_context() {
  local ln="$1" pattern="$2" dest="$3" matches m rel sub target
  [[ "$pattern" != /* && "$pattern" != *..* ]] || fail "Dockerfile:$ln: source $pattern is outside the context"
  mapfile -t matches < <(cd "$REPO" && { compgen -G "${pattern%/}" || true; })
  ((${#matches[@]} > 0)) || fail "Dockerfile:$ln: COPY source $pattern not found in the context"
  ((${#matches[@]} == 1)) || [[ "$dest" == */ ]] \
    || fail "Dockerfile:$ln: COPY of several sources needs a destination ending in /"
  for m in "${matches[@]}"; do
    ignored "$m" && continue
    if [[ -d "$REPO/$m" ]]; then
      while IFS= read -r -d '' rel; do
        rel="${rel#./}"
        ignored "$m/$rel" && continue
        sub="${dest%/}/$rel"
        mkdir -p "$(dirname "$S_ROOT$sub")"
        cp -a "$REPO/$m/$rel" "$S_ROOT$sub"
        [[ $EUID == 0 ]] && chown -h 0:0 "$S_ROOT$sub"
      done < <(cd "$REPO/$m" && find . \( -type f -o -type l \) -print0)
    else
      if [[ "$dest" == */ || -d "$S_ROOT$dest" ]]; then
        target="${dest%/}/$(basename "$m")"
      else
        target="$dest"
      fi
      copy_one "$REPO/$m" "$target"
    fi
  done
}

emulate_run() {
  local ln="$1" args="$2" argv t
  to_argv "$args" argv
  t=$SECONDS
  case "$S_KIND" in
    host) run_on_host "$ln" "${argv[@]}" ;;
    root)
      run_in_root "$ln" "${argv[@]}"
      [[ $CACHED == 1 ]] && return 0
      ;;
  esac
  step RUN "$(summary "$args") ($(since "$t"))"
}
summary() {
  local s
  s="$(tr -s ' \t' '  ' <<<"$1")"
  ((${#s} > 70)) && s="${s:0:67}..."
  echo "$s"
}

# A RUN of a host stage: in the stage's WORKDIR, with apt-get and rm guarded so
# that the image's package set is checked, not the host's state destroyed.
run_on_host() {
  local ln="$1" shims="$RUN_DIR/host-shims"
  shift
  [[ "$S_USER" == root || "$S_USER" == 0 ]] || fail "Dockerfile:$ln: USER in a host stage is not emulated"
  write_host_shims "$shims"
  if [[ ! -e "$S_ROOT$S_WORKDIR/target" ]]; then
    mkdir -p "$CACHE/cargo-target"
    ln -s "$CACHE/cargo-target" "$S_ROOT$S_WORKDIR/target"
  fi
  restamp_if_changed "$S_ROOT$S_WORKDIR" "$ln"
  (cd "$S_ROOT$S_WORKDIR" && logged "Dockerfile:$ln: RUN failed" \
    env PATH="$shims:$PATH" CT_HOST_PATH="$PATH" CT_STAGE_ROOT="$S_ROOT" "${S_ENV[@]}" "$@")
}

# Cargo judges freshness by mtime, and COPY keeps the context's mtimes: the
# cached target directory may hold a build of another tree (another checkout,
# an older commit) stamped later than these files. So when the copied files
# differ from those the same RUN line saw last time, they are stamped now, and
# cargo rebuilds. (Per line: a RUN before the COPYs sees a different set.)
restamp_if_changed() {
  local dir="$1" stamp="$CACHE/cargo-target/.context-line-$2.sha256" sum
  sum="$(cd "$dir" && find . -path ./target -prune -o -type f -print0 | sort -z \
    | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$sum" ]]; then
    (cd "$dir" && find . -path ./target -prune -o -type f -exec touch {} +)
    echo "$sum" >"$stamp"
  fi
}

write_host_shims() {
  [[ -d "$1" ]] && return 0
  mkdir -p "$1"
  cat >"$1/apt-get" <<'EOF'
#!/bin/sh
# apt-get in a host stage: `update` is deferred, `install` installs only the
# packages this host lacks (then with a real update), `clean` is a no-op.
# apt itself runs with the host's PATH (its own hooks must not meet the rm shim).
set -eu
PATH="$CT_HOST_PATH"
export PATH
case "${1:-}" in
  update|clean|autoclean) echo "apt-get $1: deferred on the host"; exit 0 ;;
  install) ;;
  *) echo "apt-get $*: not emulated on the host" >&2; exit 1 ;;
esac
opts="" missing=""
shift
for a in "$@"; do
  case "$a" in
    -*) opts="$opts $a" ;;
    *) if dpkg-query -W -f='${Status}' "$a" 2>/dev/null | grep -q 'install ok installed'; then
         echo "apt-get install: $a is already on the host"
       else
         missing="$missing $a"
       fi ;;
  esac
done
[ -z "$missing" ] && exit 0
echo "apt-get install:$missing (missing on the host)"
/usr/bin/apt-get update
# shellcheck disable=SC2086 # word splitting of the option and package lists is wanted
DEBIAN_FRONTEND=noninteractive exec /usr/bin/apt-get install $opts $missing
EOF
  cat >"$1/rm" <<'EOF'
#!/bin/sh
# rm in a host stage: the image's apt clean-ups are skipped (they would clean
# the host's); any other absolute path outside the stage is refused.
set -eu
n=$#
while [ "$n" -gt 0 ]; do
  a="$1"
  shift
  n=$((n - 1))
  case "$a" in
    /var/lib/apt/lists/*|/var/cache/apt/*) echo "rm $a: skipped on the host"; continue ;;
    "$CT_STAGE_ROOT"/*|-*) ;;
    /*) echo "rm $a: outside the stage, refused on the host" >&2; exit 1 ;;
  esac
  set -- "$@" "$a"
done
[ "$#" -eq 0 ] && exit 0
exec /bin/rm "$@"
EOF
  chmod 755 "$1/apt-get" "$1/rm"
}

# A RUN of a root stage, cached by (previous layer, instruction) like a layer.
# Sets CACHED=1 when it took the layer from the cache (and printed its line).
CACHED=0
run_in_root() {
  local ln="$1" key layer
  shift
  CACHED=0
  key="$(printf '%s\n' "$S_LAYER" "$S_USER" "$S_WORKDIR" "${S_ENV[@]}" "$@" | sha256sum | cut -c1-16)"
  layer="$CACHE/layers/$key"
  S_LAYER="$key"
  if [[ $NO_CACHE == 0 && -d "$layer" ]]; then
    rm -rf "$S_ROOT"
    cp -a --reflink=auto "$layer" "$S_ROOT"
    step RUN "$(summary "${*: -1}") (cached layer)"
    CACHED=1
    return 0
  fi
  mkdir -p "$S_ROOT$S_WORKDIR"
  with_run_mounts "Dockerfile:$ln: RUN failed" in_root "$S_USER" "$S_WORKDIR" "$@"
  rm -rf "$layer" "$layer.tmp"
  mkdir -p "$CACHE/layers"
  cp -a --reflink=auto "$S_ROOT" "$layer.tmp"
  mv "$layer.tmp" "$layer"
}

# /proc, /dev and the host's resolv.conf in the stage root for one command, as
# a build container has them; all undone afterwards.
with_run_mounts() {
  local what="$1" resolv="$S_ROOT/etc/resolv.conf" saved=""
  shift
  mount_tracked -t proc proc "$S_ROOT/proc"
  mount_tracked --bind /dev "$S_ROOT/dev"
  if [[ -e "$resolv" || -L "$resolv" ]]; then
    saved="$RUN_DIR/resolv.conf.saved"
    mv "$resolv" "$saved"
  fi
  cp /etc/resolv.conf "$resolv"
  local rc=0
  echo "+ $*" >>"$LOG"
  "$@" >>"$LOG" 2>&1 || rc=$?
  rm -f "$resolv"
  [[ -n "$saved" ]] && mv "$saved" "$resolv"
  umount_tracked "$S_ROOT/dev"
  umount_tracked "$S_ROOT/proc"
  if ((rc != 0)); then
    tail -n 12 "$LOG" | sed 's/^/  | /'
    fail "$what (exit $rc)"
  fi
}

# Runs argv inside the stage root as USER $1 in directory $2 with only the
# image's environment, like a container process.
in_root() {
  local user="$1" wd="$2"
  shift 2
  resolve_user "$user"
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOSTNAME=chronotrace-ops-verify HOME="$R_HOME" "${S_ENV[@]}" \
    /usr/bin/unshare --root="$S_ROOT" --wd="$wd" --setuid="$R_UID" --setgid="$R_GID" -- "$@"
}

# USER as Docker resolves it from the image's /etc/passwd and /etc/group into
# R_UID, R_GID, R_HOME; a numeric uid without an entry runs with gid 0, home /.
R_UID=0
R_GID=0
R_HOME=/
resolve_user() {
  local user="${1%%:*}" group="" entry
  [[ "$1" == *:* ]] && group="${1#*:}"
  entry="$(awk -F: -v u="$user" '$1 == u || $3 == u { print $3, $4, $6; exit }' "$S_ROOT/etc/passwd")"
  if [[ -z "$entry" ]]; then
    [[ "$user" =~ ^[0-9]+$ ]] || fail "USER $user: no such user in the image"
    entry="$user 0 /"
  fi
  read -r R_UID R_GID R_HOME <<<"$entry"
  if [[ -n "$group" ]]; then
    if [[ ! "$group" =~ ^[0-9]+$ ]]; then
      group="$(awk -F: -v g="$group" '$1 == g { print $3; exit }' "$S_ROOT/etc/group")"
      [[ -n "$group" ]] || fail "USER $1: no such group in the image"
    fi
    R_GID="$group"
  fi
}

emulate_dockerfile() {
  local i ln
  # A fixed place, so that cargo sees the same paths and reruns are incremental.
  RUN_DIR="$CACHE/run"
  ! mounted_under "$RUN_DIR" || fail "$RUN_DIR still has mounts from an earlier run; unmount them"
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  load_dockerignore
  parse_dockerfile
  for i in "${!INSTR[@]}"; do
    ln="${LINENO_OF[$i]}"
    [[ "${INSTR[$i]}" == FROM || -n "$S_KIND" ]] || fail "Dockerfile:$ln: ${INSTR[$i]} before FROM"
    case "${INSTR[$i]}" in
      FROM) emulate_from "$ln" "${ARGS[$i]}" ;;
      RUN) emulate_run "$ln" "${ARGS[$i]}" ;;
      COPY) emulate_copy "$ln" "${ARGS[$i]}" ;;
      WORKDIR) emulate_workdir "$ln" "${ARGS[$i]}" ;;
      ENV) emulate_env "$ln" "${ARGS[$i]}" ;;
      USER) emulate_user "$ln" "${ARGS[$i]}" ;;
      ENTRYPOINT)
        to_argv "${ARGS[$i]}" ENTRYPOINT
        step ENTRYPOINT "${ARGS[$i]}"
        ;;
      CMD)
        to_argv "${ARGS[$i]}" CMD
        step CMD "${ARGS[$i]}"
        ;;
      *) fail "Dockerfile:$ln: instruction ${INSTR[$i]} is not emulated" ;;
    esac
  done
  [[ "$S_KIND" == root ]] || fail "the final stage must be FROM a Debian image to be run"
  # A shell-form ENTRYPOINT ignores CMD, as Docker does.
  [[ "${ENTRYPOINT[0]:-}" == /bin/sh && "${ENTRYPOINT[1]:-}" == -c ]] && CMD=()
  mkdir -p "$S_ROOT/work"
  chmod 755 "$S_ROOT/work"
  return 0
}

# ---- running the image -------------------------------------------------------------

# image_run [-w HOSTDIR] [-e ENTRYPOINT] [-u USER] -- ARGS...: runs the image
# (HOSTDIR at /work, the working directory; USER as `docker run --user`) with
# stdout in $OUT, stderr in $ERR; sets RC.
OUT=""
ERR=""
RC=0
image_run() {
  local work="" entry="" user=""
  while [[ "$1" != -- ]]; do
    case "$1" in
      -w) work="$2" ;;
      -e) entry="$2" ;;
      -u) user="$2" ;;
    esac
    shift 2
  done
  shift
  RC=0
  if [[ $MODE == docker ]]; then
    local opts=(--rm)
    [[ -n "$work" ]] && opts+=(-v "$work:/work" -w /work)
    [[ -n "$entry" ]] && opts+=(--entrypoint "$entry")
    [[ -n "$user" ]] && opts+=(--user "$user")
    docker run "${opts[@]}" "$TAG" "$@" >"$OUT" 2>"$ERR" || RC=$?
    return 0
  fi
  local argv=() wd="$S_WORKDIR"
  if [[ -n "$entry" ]]; then argv=("$entry"); else argv=("${ENTRYPOINT[@]}"); fi
  if (($# > 0)); then argv+=("$@"); elif [[ -z "$entry" ]]; then argv+=("${CMD[@]}"); fi
  if [[ -n "$work" ]]; then
    mount_tracked --bind "$work" "$S_ROOT/work"
    wd=/work
  fi
  in_root "${user:-$S_USER}" "$wd" "${argv[@]}" >"$OUT" 2>"$ERR" || RC=$?
  [[ -n "$work" ]] && umount_tracked "$S_ROOT/work"
  return 0
}

# expect CODE WHAT: the last image_run exited CODE, or FAIL showing its stderr.
expect() {
  if [[ "$RC" != "$1" ]]; then
    sed 's/^/  | /' "$ERR" | tail -n 10
    fail "$2: exit $RC, expected $1"
  fi
}

# shellcheck disable=SC2016 # the $ in the commands run in the image is theirs
smoke_checks() {
  local cmd missing="" version uid schema_ok spec_path bytes
  SMOKE_DIR="$(mktemp -d)"
  OUT="$SMOKE_DIR/out"
  ERR="$SMOKE_DIR/err"

  image_run --
  expect 0 "the default command (CMD)"
  for cmd in init render plan apply destroy check cleanup report bootstrap schema; do
    grep -qE "^  $cmd( |$)" "$OUT" || missing+=" $cmd"
  done
  [[ -z "$missing" ]] || fail "the default command's help lacks:$missing"
  step SMOKE "default command: exit 0, help lists the commands"

  image_run -- --version
  expect 0 "--version"
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -n 1)"
  grep -qx "chronotrace-ops $version" "$OUT" || fail "--version printed '$(head -c 80 "$OUT")', not $version"
  step SMOKE "--version: $(cat "$OUT")"

  image_run -e /bin/sh -- -c 'id -u; echo "$AWS_EC2_METADATA_DISABLED"'
  expect 0 "id -u in the image"
  uid="$(head -n 1 "$OUT")"
  [[ "$uid" =~ ^[0-9]+$ && "$uid" != 0 ]] || fail "the image runs as uid '$uid', not a non-root user"
  [[ "$(sed -n 2p "$OUT")" == true ]] || fail "AWS_EC2_METADATA_DISABLED is not true in the image"
  image_run -- render --out /usr/local/bin/ct-verify-probe
  expect 2 "render into /usr/local/bin"
  grep -q 'Permission denied' "$ERR" || fail "writing to /usr/local/bin failed without 'Permission denied'"
  step SMOKE "runs as uid $uid: cannot write /usr/local/bin (exit 2); AWS_EC2_METADATA_DISABLED=true"

  image_run -e /bin/sh -- -c 'test -s /etc/ssl/certs/ca-certificates.crt'
  expect 0 "CA bundle in the image"
  step SMOKE "CA certificates present (/etc/ssl/certs/ca-certificates.crt)"

  image_run -- schema
  expect 0 "schema"
  schema_ok="$(jq -r 'type' "$OUT" 2>/dev/null || true)"
  [[ "$schema_ok" == object ]] || fail "schema did not print a JSON object"
  step SMOKE "schema: a JSON object of $(wc -c <"$OUT") bytes"

  # A checkout owned by a user of the host (not the image's uid), mounted as
  # the Dockerfile's header says: -v "$PWD:/work" --user "$(id -u):$(id -g)".
  mkdir -p "$SMOKE_DIR/work"
  chown "$HOST_UID:$HOST_UID" "$SMOKE_DIR/work"
  image_run -w "$SMOKE_DIR/work" -u "$HOST_UID:$HOST_UID" -- init
  expect 0 "init in /work"
  [[ -f "$SMOKE_DIR/work/chronotrace-ops.yaml" ]] || fail "init wrote no chronotrace-ops.yaml in /work"
  image_run -w "$SMOKE_DIR/work" -u "$HOST_UID:$HOST_UID" -- bootstrap --env local --yes
  expect 0 "bootstrap --env local --yes"
  spec_path="$(sed -n 's/^ *path: *\([^ #]*\).*/\1/p' "$SMOKE_DIR/work/chronotrace-ops.yaml" | head -n 1)"
  [[ -n "$spec_path" && -d "$SMOKE_DIR/work/$spec_path/traces" ]] \
    || fail "bootstrap did not create the local storage ${spec_path:-?}/traces"
  [[ "$(stat -c %u "$SMOKE_DIR/work/$spec_path/traces")" == "$HOST_UID" ]] \
    || fail "the storage directory is not owned by the --user uid $HOST_UID"
  step SMOKE "init + bootstrap --env local --yes in /work (--user $HOST_UID): exit 0, created $spec_path/traces"

  image_run -e /bin/sh -- -c 'wc -c < "$(command -v chronotrace-ops)"'
  expect 0 "binary size"
  bytes="$(tr -d ' \n' <"$OUT")"
  if [[ $MODE == docker ]]; then
    step SIZE "image $(($(docker image inspect -f '{{.Size}}' "$TAG") / 1048576)) MiB, binary $((bytes / 1048576)) MiB"
  else
    step SIZE "root $(du_mib "$S_ROOT") (base $(du_mib "$BASE") + the Dockerfile's $(($(du -sxm "$S_ROOT" | cut -f1) - $(du -sxm "$BASE" | cut -f1))) MiB), binary $((bytes / 1048576)) MiB ($bytes bytes)"
  fi
}

# ---- main -----------------------------------------------------------------------------

command -v jq >/dev/null || fail "jq is needed (apt-get install jq)"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  MODE=docker
  step MODE "Docker engine: docker build + docker run"
  t=$SECONDS
  logged "docker build" docker build -f "$DOCKERFILE" -t "$TAG" "$REPO"
  step BUILD "docker build -f docker/Dockerfile -t $TAG . ($(since "$t"))"
else
  MODE=emulated
  step MODE "no Docker engine: emulating docker/Dockerfile (log: $LOG)"
  emulate_dockerfile
fi
smoke_checks
echo "PASS ($MODE, $(since "$T0"))"
