//! Step 6 for ad-hoc runs: the files an unsigned command names, hashed, so that an "always"
//! grant covers those contents only and an edited script is asked about again. Reads and
//! hashes files; decides nothing.
//!
//! What a command names: the program `argv[0]` resolves to (through the run's `PATH`, or as a
//! path relative to the working directory), and every later argument that names an existing
//! regular file or directory (absolute, or relative to the working directory). That covers a
//! script given to an interpreter (`sh run.sh`, `python3 tool.py`), which the kernel never
//! executes and so no execute-right resolution would list, a script run directly
//! (`./run.sh`), and a directory an interpreter runs (`python3 app` runs `app/__main__.py`,
//! `node dir` its `index.js`): a directory is bound by the digest of its whole tree.

use aegisclaw_core::approval::BoundFile;
use aegisclaw_core::skill::sign::file_digest;
use std::path::{Path, PathBuf};

/// The `PATH` a run is given (and finds `argv[0]` through).
pub(crate) const RUN_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What an unsigned command's grant is bound to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct CommandFiles {
    /// The files and directories it names, each with its digest.
    pub(super) files: Vec<BoundFile>,
    /// Why no grant can be bound to it (a directory argument too large to hash): "always" is
    /// then "this run only", and no remembered grant covers it.
    pub(super) unbindable: Option<String>,
}

/// The files `argv` names in `workdir`, symlinks resolved, each once, with their sha256. A file
/// that exists but cannot be resolved or read is an error naming it: a grant must never be
/// bound to less than the command names.
pub(super) fn command_files(argv: &[String], workdir: &Path) -> Result<CommandFiles, String> {
    let mut named: Vec<PathBuf> = Vec::new();
    if let Some(program) = argv.first().and_then(|program| locate(program, workdir)) {
        named.push(program);
    }
    for word in argv.iter().skip(1).filter(|word| !word.is_empty()) {
        let candidate = workdir.join(word);
        if candidate.is_file() || candidate.is_dir() {
            named.push(candidate);
        }
    }
    let mut files: Vec<BoundFile> = Vec::new();
    let mut unbindable = None;
    for path in named {
        let resolved = fs_err::canonicalize(&path)
            .map_err(|error| format!("cannot bind an approval to `{}`: {error}", path.display()))?;
        let path = resolved.display().to_string();
        if files.iter().any(|file| file.path == path) {
            continue;
        }
        let sha256 = if resolved.is_dir() {
            match tree_digest(&resolved)? {
                Some(digest) => digest,
                None => {
                    unbindable.get_or_insert_with(|| {
                        format!(
                            "`{path}` holds more than {MAX_TREE_FILES} entries or {} MiB, too much to bind a grant to",
                            MAX_TREE_BYTES >> 20
                        )
                    });
                    continue;
                }
            }
        } else {
            digest_of(&resolved)
                .map_err(|problem| format!("cannot bind an approval to `{path}`: {problem}"))?
        };
        files.push(BoundFile { path, sha256 });
    }
    Ok(CommandFiles { files, unbindable })
}

/// The hex sha256 of a regular file's contents.
fn digest_of(path: &Path) -> Result<String, String> {
    let digest = file_digest(path).map_err(|error| crate::doctor::error_chain(&error))?;
    Ok(digest
        .strip_prefix("sha256:")
        .unwrap_or(&digest)
        .to_string())
}

/// Files of a directory argument hashed at most, and their bytes: a bigger tree (`find /`) is
/// never bound to part of it; no grant covers the command at all.
const MAX_TREE_FILES: usize = 4096;
/// The directories a tree digest leaves out.
const PYTHON_CACHE: &str = "__pycache__";
const MAX_TREE_BYTES: u64 = 256 << 20;

/// The hex sha256 over a directory's tree: every entry by its path relative to `dir`, sorted,
/// with its kind, a regular file's execute bit and contents' sha256, a symlink's target (not
/// followed), but what `__pycache__` directories hold. Any edit, added, removed or renamed entry gives another digest. `None` past the
/// limits; an error naming what could not be read.
fn tree_digest(dir: &Path) -> Result<Option<String>, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut lines: Vec<String> = Vec::new();
    let mut bytes = 0u64;
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let listing = fs_err::read_dir(dir.join(&relative)).map_err(|error| error.to_string())?;
        for entry in listing {
            let entry = entry.map_err(|error| error.to_string())?;
            let name = relative.join(entry.file_name());
            let path = dir.join(&name);
            let metadata = fs_err::symlink_metadata(&path).map_err(|error| error.to_string())?;
            if lines.len() >= MAX_TREE_FILES {
                return Ok(None);
            }
            let shown = name.display();
            if metadata.is_dir() {
                // Python makes and rewrites its bytecode caches on every run that imports a
                // module: left out, or no grant would outlast its first run (docs/security.md).
                if entry.file_name() != PYTHON_CACHE {
                    lines.push(format!("d {shown}"));
                    pending.push(name);
                }
            } else if metadata.file_type().is_symlink() {
                // A link is its target's text and, when it leads to a regular file (anywhere:
                // `__main__.py` may link out of the tree), that file's contents too.
                let target = fs_err::read_link(&path).map_err(|error| error.to_string())?;
                let contents = match fs_err::metadata(&path) {
                    Ok(followed) if followed.is_file() => {
                        bytes = bytes.saturating_add(followed.len());
                        if bytes > MAX_TREE_BYTES {
                            return Ok(None);
                        }
                        digest_of(&path).map_err(|problem| {
                            format!("cannot bind an approval to `{}`: {problem}", path.display())
                        })?
                    }
                    _ => String::from("-"),
                };
                lines.push(format!("l {shown} -> {} {contents}", target.display()));
            } else if metadata.is_file() {
                bytes = bytes.saturating_add(metadata.len());
                if bytes > MAX_TREE_BYTES {
                    return Err(format!(
                        "its files hold more than {} MiB",
                        MAX_TREE_BYTES >> 20
                    ));
                }
                let executable = metadata.permissions().mode() & 0o111 != 0;
                let digest = digest_of(&path).map_err(|problem| {
                    format!("cannot bind an approval to `{}`: {problem}", path.display())
                })?;
                lines.push(format!(
                    "f {shown} {} {digest}",
                    if executable { "x" } else { "-" }
                ));
            } else {
                lines.push(format!("o {shown}"));
            }
        }
    }
    lines.sort();
    Ok(Some(aegisclaw_core::policy::sha256_hex(
        lines.join("\n").as_bytes(),
    )))
}

/// Where `execve` finds `program`: relative to `workdir` (or absolute) when it has a `/`, else
/// the first regular file of that name in [`RUN_PATH`]; `None` if nothing is there (the plan
/// refuses such a run).
fn locate(program: &str, workdir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        let candidate = workdir.join(program);
        return candidate.is_file().then_some(candidate);
    }
    RUN_PATH
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_argument_and_the_program_are_bound_by_content() {
        let temp = tempfile::tempdir().unwrap();
        let work = temp.path();
        fs_err::write(work.join("run.sh"), "echo one\n").unwrap();
        fs_err::create_dir(work.join("dir")).unwrap();
        let argv: Vec<String> = ["sh", "run.sh", "-c", "dir", "missing.txt", "run.sh"]
            .map(String::from)
            .to_vec();
        let files = command_files(&argv, work).unwrap().files;
        let sh = fs_err::canonicalize(locate("sh", work).unwrap()).unwrap();
        let script = fs_err::canonicalize(work.join("run.sh")).unwrap();
        let dir = fs_err::canonicalize(work.join("dir")).unwrap();
        // Each once, in argv order; a directory by its tree, a missing file not at all.
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            vec![
                sh.to_str().unwrap(),
                script.to_str().unwrap(),
                dir.to_str().unwrap()
            ]
        );
        // `printf 'echo one\n' | sha256sum`
        assert_eq!(
            files[1].sha256,
            "0cb42bbdf016ecafd6c21ac6c4b1760bf5b346c70c4f96ba890ef3d74883c8c2"
        );
        fs_err::write(work.join("run.sh"), "echo two\n").unwrap();
        let edited = command_files(&argv, work).unwrap().files;
        assert_eq!(edited[0], files[0]);
        assert_ne!(edited[1].sha256, files[1].sha256);
        // A program given as a path is bound as the file it names.
        let direct = command_files(&["./run.sh".to_string()], work)
            .unwrap()
            .files;
        assert_eq!(direct, vec![edited[1].clone()]);
    }

    #[test]
    fn a_directory_argument_is_bound_by_its_whole_tree() {
        // Attack pass 5: `python3 app` runs `app/__main__.py`; only the interpreter was bound,
        // so an edited `__main__.py` kept the remembered grant.
        let temp = tempfile::tempdir().unwrap();
        let work = temp.path();
        fs_err::create_dir_all(work.join("app/pkg")).unwrap();
        fs_err::write(work.join("app/__main__.py"), "print('benign')\n").unwrap();
        fs_err::write(work.join("app/pkg/util.py"), "X = 1\n").unwrap();
        let argv: Vec<String> = ["sh", "app"].map(String::from).to_vec();
        let digest = |work: &Path| command_files(&argv, work).unwrap().files[1].clone();
        let first = digest(work);
        assert!(first.path.ends_with("/app"), "{first:?}");
        assert_eq!(digest(work), first);
        let mut seen = vec![first.sha256.clone()];
        let mut changed = |change: &dyn Fn()| {
            change();
            let now = digest(work).sha256;
            assert!(!seen.contains(&now), "a change kept the digest");
            seen.push(now);
        };
        changed(&|| fs_err::write(work.join("app/__main__.py"), "print('EVIL')\n").unwrap());
        changed(&|| fs_err::write(work.join("app/pkg/util.py"), "X = 2\n").unwrap());
        changed(&|| fs_err::write(work.join("app/pkg/new.py"), "").unwrap());
        changed(&|| fs_err::rename(work.join("app/pkg/new.py"), work.join("app/new.py")).unwrap());
        changed(&|| std::os::unix::fs::symlink("/etc", work.join("app/link")).unwrap());
        // A file the tree links to from outside it is bound by its contents (attack pass 6).
        let outside = temp.path().with_extension("outside.py");
        fs_err::write(&outside, "print('one')\n").unwrap();
        changed(&|| std::os::unix::fs::symlink(&outside, work.join("app/main.py")).unwrap());
        changed(&|| fs_err::write(&outside, "print('two')\n").unwrap());
        fs_err::remove_file(&outside).unwrap();
        // A tree too large to hash binds nothing: no grant can cover the command.
        for index in 0..=MAX_TREE_FILES {
            fs_err::write(work.join(format!("app/pkg/{index}")), "").unwrap();
        }
        let large = command_files(&argv, work).unwrap();
        assert_eq!(large.files.len(), 1, "{large:?}");
        assert!(
            large
                .unbindable
                .unwrap()
                .contains("too much to bind a grant to")
        );
    }
}
