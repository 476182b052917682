#!/bin/sh
# version.sh prints the version make package gives lbdoctor, from the git
# checkout in the current directory:
#   X.Y.Z              on a vX.Y.Z tag
#   X.Y.Z+N.gHASH      N commits after it
#   0.0.0+N.gHASH      before the first tag (N commits in all)
#   ...+dirty, .dirty  with uncommitted changes to tracked files
#   0.0.0              outside git
# Each is a valid deb and rpm version without a revision: a tag's '-'
# becomes '~', which both sort before the release, and anything else
# neither accepts is dropped.
d=$(git describe --tags --match 'v[0-9]*' --long --abbrev=12 2>/dev/null)
h=$(git rev-parse --short=12 HEAD 2>/dev/null)
if [ -n "$d" ]; then
	r=${d%-g*}
	n=${r##*-}
	t=${r%-*}
	t=${t#v}
else
	t=0.0.0
	n=$(git rev-list --count HEAD 2>/dev/null)
fi
v=$(printf %s "$t" | tr -- - '~' | tr -cd 'A-Za-z0-9.+~')
if [ -n "$h" ] && [ "$n" != 0 ]; then
	v="$v+$n.g$h"
fi
if [ -n "$h" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	case $v in
	*+*) v="$v.dirty" ;;
	*) v="$v+dirty" ;;
	esac
fi
echo "$v"
