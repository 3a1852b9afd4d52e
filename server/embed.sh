#!/bin/sh
# Write a C file to stdout that embeds each named file as a byte array, so the
# binary carries its SQL migrations and chat page without files beside it.
set -eu
echo '#include "server/embedded.h"'
i=0
for f in "$@"; do
	echo "static const unsigned char file_$i[] = {"
	od -An -v -tx1 "$f" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
	echo "0x00};"
	i=$((i + 1))
done
echo "const struct embedded_file embedded_files[] = {"
i=0
for f in "$@"; do
	size=$(wc -c < "$f" | tr -d ' ')
	echo "	{\"$f\", (const char *)file_$i, $size},"
	i=$((i + 1))
done
echo "	{0, 0, 0}"
echo "};"
