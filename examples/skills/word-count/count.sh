#!/bin/sh
# Counts lines, words and bytes of every regular file in the working directory.
set -eu
for file in ./*; do
  [ -f "$file" ] && wc "$file"
done
