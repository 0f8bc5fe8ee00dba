//! Step 6 for ad-hoc runs: the files an unsigned command names, hashed, so that an "always"
//! grant covers those contents only and an edited script is asked about again. Reads and
//! hashes files; decides nothing.
//!
//! What a command names: the program `argv[0]` resolves to (through the run's `PATH`, or as a
//! path relative to the working directory), and every later argument that names an existing
//! regular file (absolute, or relative to the working directory). That covers a script given
//! to an interpreter (`sh run.sh`, `python3 tool.py`), which the kernel never executes and so
//! no execute-right resolution would list, as well as a script run directly (`./run.sh`).

use aegisclaw_core::approval::BoundFile;
use aegisclaw_core::skill::sign::file_digest;
use std::path::{Path, PathBuf};

/// The `PATH` a run is given (and finds `argv[0]` through).
pub(crate) const RUN_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The files `argv` names in `workdir`, symlinks resolved, each once, with their sha256. A file
/// that exists but cannot be resolved or read is an error naming it: a grant must never be
/// bound to less than the command names.
pub(super) fn command_files(argv: &[String], workdir: &Path) -> Result<Vec<BoundFile>, String> {
    let mut named: Vec<PathBuf> = Vec::new();
    if let Some(program) = argv.first().and_then(|program| locate(program, workdir)) {
        named.push(program);
    }
    for word in argv.iter().skip(1).filter(|word| !word.is_empty()) {
        let candidate = workdir.join(word);
        if candidate.is_file() {
            named.push(candidate);
        }
    }
    let mut files: Vec<BoundFile> = Vec::new();
    for path in named {
        let resolved = fs_err::canonicalize(&path)
            .map_err(|error| format!("cannot bind an approval to `{}`: {error}", path.display()))?;
        let path = resolved.display().to_string();
        if files.iter().any(|file| file.path == path) {
            continue;
        }
        let digest = file_digest(&resolved).map_err(|error| {
            format!(
                "cannot bind an approval to `{path}`: {}",
                crate::doctor::error_chain(&error)
            )
        })?;
        let sha256 = digest
            .strip_prefix("sha256:")
            .unwrap_or(&digest)
            .to_string();
        files.push(BoundFile { path, sha256 });
    }
    Ok(files)
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
        let files = command_files(&argv, work).unwrap();
        let sh = fs_err::canonicalize(locate("sh", work).unwrap()).unwrap();
        let script = fs_err::canonicalize(work.join("run.sh")).unwrap();
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            vec![sh.to_str().unwrap(), script.to_str().unwrap()]
        );
        // `printf 'echo one\n' | sha256sum`
        assert_eq!(
            files[1].sha256,
            "0cb42bbdf016ecafd6c21ac6c4b1760bf5b346c70c4f96ba890ef3d74883c8c2"
        );
        fs_err::write(work.join("run.sh"), "echo two\n").unwrap();
        let edited = command_files(&argv, work).unwrap();
        assert_eq!(edited[0], files[0]);
        assert_ne!(edited[1].sha256, files[1].sha256);
        // A program given as a path is bound as the file it names.
        let direct = command_files(&["./run.sh".to_string()], work).unwrap();
        assert_eq!(direct, vec![edited[1].clone()]);
    }
}
