"""file-organiser: copy every file of INPUT into OUTPUT/<type>/<YYYY-MM>/, never overwriting.

Usage: python3 organise.py [INPUT] [OUTPUT]
Defaults: ~/aegisclaw-quickstart/input and ~/aegisclaw-quickstart/output (the skill's scopes).
Prints one line per file and a summary; exits 1 if a file could not be copied.
"""

import os
import shutil
import sys
import time

TYPES = {
    "images": {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".tiff", ".heic"},
    "documents": {".pdf", ".doc", ".docx", ".odt", ".txt", ".md", ".rtf", ".csv", ".xlsx", ".ods", ".pptx"},
    "audio": {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac"},
    "video": {".mp4", ".mkv", ".mov", ".avi", ".webm"},
    "archives": {".zip", ".tar", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst"},
    "code": {".py", ".rs", ".go", ".js", ".ts", ".c", ".h", ".cpp", ".java", ".sh", ".json", ".yaml", ".yml", ".toml", ".html", ".css"},
}


def kind_of(name):
    extension = os.path.splitext(name)[1].lower()
    for kind, extensions in TYPES.items():
        if extension in extensions:
            return kind
    return "other"


def free_target(directory, name):
    stem, extension = os.path.splitext(name)
    candidate = os.path.join(directory, name)
    number = 1
    while os.path.exists(candidate):
        candidate = os.path.join(directory, f"{stem}-{number}{extension}")
        number += 1
    return candidate


def main(argv):
    home = os.path.expanduser("~")
    source = argv[1] if len(argv) > 1 else os.path.join(home, "aegisclaw-quickstart", "input")
    target = argv[2] if len(argv) > 2 else os.path.join(home, "aegisclaw-quickstart", "output")
    failures = 0
    counts = {}
    for root, _dirs, files in os.walk(source):
        for name in sorted(files):
            path = os.path.join(root, name)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            kind = kind_of(name)
            month = time.strftime("%Y-%m", time.gmtime(os.stat(path).st_mtime))
            directory = os.path.join(target, kind, month)
            try:
                os.makedirs(directory, exist_ok=True)
                destination = free_target(directory, name)
                shutil.copy2(path, destination)
            except OSError as error:
                failures += 1
                print(f"failed  {os.path.relpath(path, source)}: {error.strerror}")
                continue
            counts[kind] = counts.get(kind, 0) + 1
            print(f"copied  {os.path.relpath(path, source)} -> {os.path.relpath(destination, target)}")
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) or "no files"
    print(f"organised {sum(counts.values())} files: {summary}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
