#!/usr/bin/env python3
"""Writes crates/core/data/public-suffixes.txt from the Public Suffix List (publicsuffix.org
format), with every label that is not ASCII in its punycode `xn--` form, as scopes spell it.
Usage: scripts/update-public-suffixes.py [/usr/share/publicsuffix/public_suffix_list.dat]"""
import sys, pathlib
source = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/publicsuffix/public_suffix_list.dat")
out = pathlib.Path(__file__).resolve().parent.parent / "crates/core/data/public-suffixes.txt"
def ascii_label(label):
    if label.isascii():
        return label.lower()
    return "xn--" + label.encode("punycode").decode("ascii")
lines = []
for raw in source.read_text(encoding="utf-8").splitlines():
    line = raw.strip()
    if not line or line.startswith("//"):
        if "===BEGIN" in line or "===END" in line or line.startswith("// This Source") or line.startswith("// License") or line.startswith("// file, You"):
            lines.append(line)
        continue
    rule = line.split()[0]
    prefix = ""
    if rule.startswith("!"):
        prefix, rule = "!", rule[1:]
    lines.append(prefix + ".".join(ascii_label(l) for l in rule.split(".")))
header = [
    "// The Public Suffix List (https://publicsuffix.org), ICANN and private sections, as",
    f"// `scripts/update-public-suffixes.py` wrote it from `{source}`: one rule a line,",
    "// labels that are not ASCII in their punycode `xn--` form, comments dropped.",
]
out.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
print(out, len(lines))
