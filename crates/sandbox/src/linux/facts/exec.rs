//! Resolves the programs a run may execute to the host files the kernel opens to run them
//! ([`ResolvedProgram`]): the program found through the run's `PATH` (or as given), symlinks
//! followed, then each interpreter its header names (`#!` line, ELF `PT_INTERP`), and the
//! program a `#!/usr/bin/env NAME` line has `env` run, bounded by [`MAX_EXEC_CHAIN`]. Reads
//! file headers; decides nothing (the plan does).

use crate::interpreter::{self, Header};
use crate::plan::{
    ExecFile, ExecGrant, ExecRole, ExecSource, MAX_EXEC_CHAIN, ResolveFailure, ResolvedProgram,
    RunSpec, run_path,
};
use fs_err::os::unix::fs::OpenOptionsExt as _;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{FileExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The run's program and its `shell.exec:<cmd>` commands, resolved; nothing for a bare
/// `shell.exec`, which needs no resolution.
pub(super) fn resolve_programs(spec: &RunSpec, workdir: Option<&Path>) -> Vec<ResolvedProgram> {
    let ExecGrant::Listed { commands } = &spec.exec else {
        return Vec::new();
    };
    let path = run_path(&spec.env);
    let program = spec
        .argv
        .first()
        .map(|name| (name.as_str(), ExecSource::Entrypoint));
    program
        .into_iter()
        .chain(
            commands
                .iter()
                .map(|name| (name.as_str(), ExecSource::Command)),
        )
        .map(|(name, source)| {
            let (found_as, files) = match locate(name, path, workdir) {
                Ok(found) => {
                    let files = chain(&found, path, workdir);
                    (Some(found), files)
                }
                Err(reason) => (None, Err(reason)),
            };
            ResolvedProgram {
                name: name.to_string(),
                source,
                found_as,
                files,
            }
        })
        .collect()
}

/// Where `execve` finds `name`: as given when it has a `/` (relative to the working
/// directory), else the first executable regular file among the `PATH` directories.
fn locate(name: &str, path: &str, workdir: Option<&Path>) -> Result<PathBuf, ResolveFailure> {
    if name.contains('/') {
        let candidate = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            workdir
                .ok_or(ResolveFailure::RelativeWithoutWorkdir)?
                .join(name)
        };
        return check_executable(&candidate).map(|()| candidate);
    }
    path.split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| check_executable(candidate).is_ok())
        .ok_or_else(|| ResolveFailure::NotOnPath {
            path: path.to_string(),
        })
}

/// An existing regular file (symlinks followed) with an execute bit.
fn check_executable(path: &Path) -> Result<(), ResolveFailure> {
    match fs_err::metadata(path) {
        Ok(metadata) if metadata.is_file() && metadata.permissions().mode() & 0o111 != 0 => Ok(()),
        Ok(_) => Err(ResolveFailure::NotExecutable {
            path: path.to_path_buf(),
        }),
        Err(_) => Err(ResolveFailure::Missing {
            path: path.to_path_buf(),
        }),
    }
}

/// The files the kernel opens to run `found`, the program first: each `#!` interpreter, each
/// ELF loader, and what `#!/usr/bin/env NAME` runs, each once.
fn chain(
    found: &Path,
    path: &str,
    workdir: Option<&Path>,
) -> Result<Vec<ExecFile>, ResolveFailure> {
    let mut files: Vec<ExecFile> = Vec::new();
    let mut pending = vec![(found.to_path_buf(), ExecRole::Program)];
    while let Some((next, role)) = pending.pop() {
        let (resolved, file) = open_executable(&next)?;
        if files.iter().any(|file| file.path == resolved) {
            continue;
        }
        if files.len() == MAX_EXEC_CHAIN {
            return Err(ResolveFailure::TooDeep {
                path: found.to_path_buf(),
            });
        }
        let (header, loader) = inspect(&resolved, &file)?;
        files.push(ExecFile {
            path: resolved.clone(),
            role,
        });
        // Pushed in reverse of the order the kernel opens them, so they pop in that order.
        match header {
            Header::Script {
                interpreter,
                argument,
            } => {
                if !interpreter.starts_with('/') {
                    return Err(ResolveFailure::RelativeInterpreter {
                        path: resolved,
                        interpreter,
                    });
                }
                if let Some(name) = env_program(&interpreter, argument.as_deref()) {
                    pending.push((locate(name, path, workdir)?, ExecRole::Env));
                }
                pending.push((PathBuf::from(interpreter), ExecRole::Script));
            }
            Header::Elf(_) => {
                if let Some(loader) = loader {
                    pending.push((loader, ExecRole::Loader));
                }
            }
            Header::Unknown => return Err(ResolveFailure::UnknownFormat { path: resolved }),
        }
    }
    Ok(files)
}

/// `NAME` of a `#!/usr/bin/env NAME` line: `env` given one word that is no option, so it
/// executes that program found through `PATH` (`env -S`, assignments and options are not
/// followed: what they run is not granted).
fn env_program<'a>(interpreter: &str, argument: Option<&'a str>) -> Option<&'a str> {
    let argument = argument?;
    (Path::new(interpreter).file_name()? == "env"
        && !argument.starts_with('-')
        && !argument.contains([' ', '\t', '=', '/']))
    .then_some(argument)
}

/// Opens `path` (symlinks followed; `O_NONBLOCK`, so a FIFO named as an interpreter cannot
/// hang the run's start) and checks it is an executable regular file; returns the path the
/// kernel names for the descriptor (every symlink resolved) with the open file. One open, one
/// `fstat`, one `readlink`, where `canonicalize` would walk every component.
fn open_executable(path: &Path) -> Result<(PathBuf, fs_err::File), ResolveFailure> {
    let file = fs_err::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
                ResolveFailure::Missing {
                    path: path.to_path_buf(),
                }
            }
            _ => unreadable(path, &error),
        })?;
    let metadata = file.metadata().map_err(|error| unreadable(path, &error))?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o111 == 0 {
        return Err(ResolveFailure::NotExecutable {
            path: path.to_path_buf(),
        });
    }
    let resolved = fs_err::read_link(format!("/proc/self/fd/{}", file.file().as_raw_fd()))
        .map_err(|error| unreadable(path, &error))?;
    if !resolved.is_absolute() || resolved.to_string_lossy().ends_with(" (deleted)") {
        return Err(ResolveFailure::Missing {
            path: path.to_path_buf(),
        });
    }
    Ok((resolved, file))
}

fn unreadable(path: &Path, error: &std::io::Error) -> ResolveFailure {
    // The OS error alone: fs_err's message repeats the path.
    let error = std::io::Error::from(error.kind());
    ResolveFailure::Unreadable {
        path: path.to_path_buf(),
        error: error.to_string(),
    }
}

/// What the first bytes of `file` (opened as `path`) say runs it, as the kernel reads them,
/// and for an ELF program the loader it names (`PT_INTERP`, symlinks not yet followed; `None`
/// when static).
fn inspect(path: &Path, file: &fs_err::File) -> Result<(Header, Option<PathBuf>), ResolveFailure> {
    let header_error = |problem| ResolveFailure::Header {
        path: path.to_path_buf(),
        problem,
    };
    let read_at = |offset: u64, size: usize| -> Result<Vec<u8>, ResolveFailure> {
        let mut bytes = vec![0u8; size];
        file.file()
            .read_exact_at(&mut bytes, offset)
            .map_err(|error| unreadable(path, &error))?;
        Ok(bytes)
    };
    let mut first = vec![0u8; interpreter::HEADER_BYTES];
    let mut filled = 0;
    while filled < first.len() {
        match file.file().read_at(&mut first[filled..], filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(unreadable(path, &error)),
        }
    }
    first.truncate(filled);
    let header = interpreter::header(&first).map_err(header_error)?;
    let Header::Elf(layout) = &header else {
        return Ok((header, None));
    };
    let table = read_at(layout.table_offset, layout.table_bytes())?;
    let Some((offset, size)) = interpreter::interp_segment(layout, &table).map_err(header_error)?
    else {
        return Ok((header, None));
    };
    let segment = read_at(offset, usize::try_from(size).unwrap_or(usize::MAX))?;
    let loader = interpreter::interp_path(&segment).map_err(header_error)?;
    Ok((header, Some(PathBuf::from(loader))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn spec(argv: &[&str], commands: &[&str]) -> RunSpec {
        RunSpec {
            argv: argv.iter().map(|word| word.to_string()).collect(),
            env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())],
            workdir: None,
            mounts: Vec::new(),
            network: crate::plan::Network::None,
            net_namespace: crate::plan::NetNamespace::Fresh,
            limits: crate::plan::Limits::default(),
            hostname: "aegisclaw".into(),
            exec: ExecGrant::Listed {
                commands: commands.iter().map(|word| word.to_string()).collect(),
            },
            ca_store: None,
        }
    }

    /// The host's own dynamic loader, as `/bin/sh` names it (skips without one).
    fn host_loader() -> Option<PathBuf> {
        let shell = fs_err::canonicalize("/bin/sh").ok()?;
        let (_, file) = open_executable(&shell).ok()?;
        let (_, loader) = inspect(&shell, &file).ok()?;
        Some(open_executable(&loader?).ok()?.0)
    }

    #[test]
    fn the_shell_resolves_to_its_file_and_its_loader() {
        let Some(loader) = host_loader() else {
            eprintln!("skipped: /bin/sh is not a dynamically linked ELF program here");
            return;
        };
        let resolved = resolve_programs(&spec(&["sh", "-c", "true"], &[]), None);
        let shell = fs_err::canonicalize("/bin/sh").unwrap();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].source, ExecSource::Entrypoint);
        assert!(resolved[0].found_as.as_ref().unwrap().ends_with("sh"));
        assert_eq!(
            resolved[0].files,
            Ok(vec![
                ExecFile {
                    path: shell,
                    role: ExecRole::Program
                },
                ExecFile {
                    path: loader,
                    role: ExecRole::Loader
                },
            ])
        );
    }

    #[test]
    fn a_script_resolves_through_its_interpreters_and_what_env_runs() {
        let Some(loader) = host_loader() else {
            eprintln!("skipped: /bin/sh is not a dynamically linked ELF program here");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let work = fs_err::canonicalize(dir.path()).unwrap();
        let write = |name: &str, text: &str| {
            let path = work.join(name);
            fs_err::write(&path, text).unwrap();
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let by_env = write("by-env", "#!/usr/bin/env sh\necho hi\n");
        let direct = write("direct", "#!/bin/sh -e\necho hi\n");
        write("plain", "echo no shebang\n");
        write("relative", "#!sh\n");
        let resolved = resolve_programs(
            &spec(
                &["./by-env"],
                &["./direct", "./plain", "./relative", "nope"],
            ),
            Some(&work),
        );
        let file = |path: PathBuf, role| ExecFile { path, role };
        let env = fs_err::canonicalize("/usr/bin/env").unwrap();
        let shell = fs_err::canonicalize("/bin/sh").unwrap();
        assert_eq!(
            resolved[0].files,
            Ok(vec![
                file(by_env, ExecRole::Program),
                file(env, ExecRole::Script),
                file(loader.clone(), ExecRole::Loader),
                file(shell.clone(), ExecRole::Env),
            ])
        );
        assert_eq!(
            resolved[1].files,
            Ok(vec![
                file(direct, ExecRole::Program),
                file(shell, ExecRole::Script),
                file(loader, ExecRole::Loader),
            ])
        );
        assert_eq!(
            resolved[2].files,
            Err(ResolveFailure::UnknownFormat {
                path: work.join("plain")
            })
        );
        assert_eq!(
            resolved[3].files,
            Err(ResolveFailure::RelativeInterpreter {
                path: work.join("relative"),
                interpreter: "sh".into()
            })
        );
        assert_eq!(resolved[4].found_as, None);
        assert_eq!(
            resolved[4].files,
            Err(ResolveFailure::NotOnPath {
                path: "/usr/local/bin:/usr/bin:/bin".into()
            })
        );
    }

    #[test]
    fn a_relative_program_needs_a_host_workdir_and_a_loop_is_bounded() {
        let resolved = resolve_programs(&spec(&["./run.sh"], &[]), None);
        assert_eq!(
            resolved[0].files,
            Err(ResolveFailure::RelativeWithoutWorkdir)
        );
        // Two scripts naming each other: each file once, so the chain ends.
        let dir = tempfile::tempdir().unwrap();
        let work = fs_err::canonicalize(dir.path()).unwrap();
        let (a, b) = (work.join("a"), work.join("b"));
        fs_err::write(&a, format!("#!{}\n", b.display())).unwrap();
        fs_err::write(&b, format!("#!{}\n", a.display())).unwrap();
        for path in [&a, &b] {
            fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let looped = resolve_programs(&spec(&[a.to_str().unwrap()], &[]), None);
        assert_eq!(
            looped[0].files,
            Ok(vec![
                ExecFile {
                    path: a.clone(),
                    role: ExecRole::Program
                },
                ExecFile {
                    path: b,
                    role: ExecRole::Script
                },
            ])
        );
        let not_executable = work.join("data");
        fs_err::write(&not_executable, "x").unwrap();
        let resolved = resolve_programs(&spec(&[not_executable.to_str().unwrap()], &[]), None);
        assert_eq!(
            resolved[0].files,
            Err(ResolveFailure::NotExecutable {
                path: not_executable
            })
        );
    }
}
