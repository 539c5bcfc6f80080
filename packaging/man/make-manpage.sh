#!/usr/bin/env bash
# Writes the manual page herald(1) from the binary's own help, with Debian's help2man, so the page
# cannot drift from the options:
#   * `herald --help` gives NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, ENVIRONMENT and
#     EXAMPLES (help2man turns its "Environment:" and "Examples:" paragraphs into those sections;
#     its "Exit status:" paragraph, which help2man leaves as a subsection, is moved here to a
#     section of its own, after the commands);
#   * each subcommand's `--help` becomes a subsection of COMMANDS (check-config's options, the
#     same as serve's, are not listed twice);
#   * packaging/man/herald.h2m adds to DESCRIPTION, and gives FILES and SEE ALSO.
# Usage: make-manpage.sh BIN OUT      (OUT: the page, uncompressed roff)
# SOURCE_DATE_EPOCH, when set, dates the page (reproducible builds).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BIN OUT" >&2; exit 2; }
bin=$(realpath "$1")
out=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
commands=(serve check-config token tail publish)
name="real-time event hub for AI-agent applications"

# The lines of one section of a help2man page (without its .SH line).
section() {  # $1: page, $2: section name as help2man writes it
  awk -v want=".SH $2" '$0 == want { on = 1; next } /^\.SH / { on = 0 } on' "$1"
}

# One help2man page per subcommand, from a stand-in program whose --help is that subcommand's.
# It is called `herald` so that help2man reads "Usage: herald serve ..." as its own usage.
for command in "${commands[@]}"; do
  mkdir -p "$work/$command"
  cat >"$work/$command/herald" <<STUB
#!/bin/sh
[ "\$1" = --version ] && exec "$bin" --version
exec "$bin" $command --help
STUB
  chmod +x "$work/$command/herald"
  help2man --no-info --name "$name" --output "$work/$command.1" "$work/$command/herald"
  section "$work/$command.1" OPTIONS >"$work/$command.options"
done

{
  cat "$here/herald.h2m"
  echo
  echo "[COMMANDS]"
  for command in "${commands[@]}"; do
    echo ".SS \"herald ${command//-/\\-} [OPTIONS]\""
    section "$work/$command.1" DESCRIPTION
    echo ".PP"
    if [ "$command" = check-config ] && cmp -s "$work/serve.options" "$work/$command.options"; then
      echo "The options of \\fBserve\\fR, read from the same flags, environment and file."
    else
      cat "$work/$command.options"
    fi
  done
} >"$work/herald.h2m"

help2man --no-info --name "$name" --include "$work/herald.h2m" --output "$work/herald.1" "$bin"

# "Exit status:" from a subsection of OPTIONS to a section before ENVIRONMENT; no hyphenation and
# no justification, which would split HERALD_* names and stretch the options' long tags.
awk '
  /^\.TH / { print; print ".nh"; print ".ad l"; next }
  /^\.SS "Exit status:"$/ { held = ".SH \"EXIT STATUS\""; holding = 1; next }
  holding && /^\.S[HS] / { holding = 0 }
  holding { held = held "\n" $0; next }
  /^\.SH ENVIRONMENT$/ && held != "" { print held; held = "" }
  { print }
  END { if (held != "") { print "make-manpage: no ENVIRONMENT section" > "/dev/stderr"; exit 1 } }
' "$work/herald.1" >"$out"
grep -q '^\.SH "EXIT STATUS"$' "$out" \
  || { echo "make-manpage: no 'Exit status:' in --help" >&2; exit 1; }
