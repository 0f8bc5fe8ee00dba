//! What a run may execute (DESIGN §3 `shell.exec`, Landlock's execute right): the grant a
//! [`RunSpec`](super::RunSpec) carries, the programs [`HostFacts`](super::HostFacts) resolved
//! on the host, and the plan's list of executable files. Pure: the resolution itself reads the
//! host in `crate::linux::facts::exec`.

use super::{Bind, MountAccess, PathKind, PlanError};
use crate::interpreter::HeaderError;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What the granted `shell.exec` scopes let a run execute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExecGrant {
    /// A bare `shell.exec`: any program the run can see.
    Any,
    /// Its own program (`argv[0]`) and the interpreters it names, plus these commands
    /// (`shell.exec:<cmd>`: a bare name found through the run's `PATH`, or an absolute path),
    /// each with the interpreters it names.
    Listed {
        /// The commands the `shell.exec:<cmd>` scopes name, as written.
        commands: Vec<String>,
    },
}

impl ExecGrant {
    /// Only the program and its interpreters: a run granted no `shell.exec` at all.
    pub fn program_only() -> Self {
        ExecGrant::Listed {
            commands: Vec::new(),
        }
    }
}

/// Why a program may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecSource {
    /// The run's own program, `argv[0]`.
    Entrypoint,
    /// A `shell.exec:<cmd>` scope.
    Command,
}

/// Why the kernel opens a file for execution when the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecRole {
    /// The program itself, symlinks followed.
    Program,
    /// The interpreter a `#!` line names.
    Script,
    /// The ELF interpreter (`PT_INTERP`: the dynamic loader) an ELF program names.
    Loader,
    /// The program a `#!/usr/bin/env NAME` line names, found through the run's `PATH`: `env`
    /// executes it next.
    Env,
}

/// One file the kernel opens for execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExecFile {
    /// Its host path, every symlink resolved (the same path inside the sandbox).
    pub path: PathBuf,
    /// Why it is opened.
    pub role: ExecRole,
}

/// At most this many files per program: the program and its interpreters (the kernel itself
/// stops after 4 rewrites of a script; `env` adds one more lookup).
pub const MAX_EXEC_CHAIN: usize = 8;

/// Why a program cannot be resolved to the files that run it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "failure")]
pub enum ResolveFailure {
    /// No executable regular file of that name in any directory of the run's `PATH`.
    #[error("no executable file of that name in the run's `PATH` (`{path}`)")]
    NotOnPath {
        /// The run's `PATH`.
        path: String,
    },
    /// Nothing at the path.
    #[error("`{path}` does not exist")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// Not a regular file, or no execute bit.
    #[error("`{path}` is not an executable regular file")]
    NotExecutable {
        /// The path.
        path: PathBuf,
    },
    /// A relative program with no host working directory to be relative to.
    #[error(
        "a relative program needs a working directory from the host; this run works in its private `/tmp`"
    )]
    RelativeWithoutWorkdir,
    /// The file could not be read.
    #[error("cannot read `{path}`: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// A `#!` line names a relative interpreter (the kernel would look for it in the working
    /// directory at exec time).
    #[error("`{path}` names the interpreter `{interpreter}`, which is not an absolute path")]
    RelativeInterpreter {
        /// The script.
        path: PathBuf,
        /// The interpreter as written.
        interpreter: String,
    },
    /// The file's header says nothing the kernel executes, or is malformed.
    #[error("`{path}`: {problem}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: HeaderError,
    },
    /// Neither an ELF program nor a `#!` script.
    #[error("`{path}` is neither an ELF program nor a `#!` script")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// More interpreters than [`MAX_EXEC_CHAIN`].
    #[error("`{path}` names more than {MAX_EXEC_CHAIN} interpreters in a chain")]
    TooDeep {
        /// The program.
        path: PathBuf,
    },
}

/// A program the run may execute, as resolved on the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedProgram {
    /// As named: `argv[0]`, or a `shell.exec` command.
    pub name: String,
    /// What grants it.
    pub source: ExecSource,
    /// The path it was found at, symlinks not followed (the `PATH` entry joined with the
    /// name, or the path as given); `None` when nothing was found.
    pub found_as: Option<PathBuf>,
    /// The files the kernel opens to run it, the program first; or why that is unknown.
    pub files: Result<Vec<ExecFile>, ResolveFailure>,
}

/// One program of the plan and the files that run it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedProgram {
    /// As named (`argv[0]` or the command).
    pub name: String,
    /// What grants it.
    pub source: ExecSource,
    /// The files that get Landlock's execute right, the program first.
    pub files: Vec<ExecFile>,
}

/// What a plan lets the run execute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExecPlan {
    /// Anything it can see (a bare `shell.exec`): execute on `/usr` and every scope bind.
    Any,
    /// Only these programs' files; nothing else may be `execve`d.
    Only {
        /// The entrypoint first, then each command.
        programs: Vec<PlannedProgram>,
    },
}

impl ExecPlan {
    /// Every executable file of the plan once, in order (empty for [`ExecPlan::Any`]).
    pub fn files(&self) -> Vec<&Path> {
        let mut files: Vec<&Path> = Vec::new();
        if let ExecPlan::Only { programs } = self {
            for file in programs.iter().flat_map(|program| &program.files) {
                if !files.contains(&file.path.as_path()) {
                    files.push(&file.path);
                }
            }
        }
        files
    }
}

/// Directories under `/usr` (and `/usr/local`) that hold programs rather than libraries and
/// data: a run without a bare `shell.exec` gets no Landlock `ReadFile` on them (only on the
/// programs it may execute), so the dynamic loader run as a program
/// (`ld.so /usr/bin/id`) cannot load one it was not granted.
pub const PROGRAM_DIRS: [&str; 8] = [
    "/usr/bin",
    "/usr/sbin",
    "/usr/libexec",
    "/usr/games",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/libexec",
    "/usr/local/games",
];

/// The plan's executables from the grant and what the facts resolved. With a list, every
/// program (the entrypoint and each command) must resolve to files the sandbox shows.
pub(super) fn plan(
    grant: &ExecGrant,
    program: &str,
    resolved: &[ResolvedProgram],
    binds: &[Bind],
    system_dirs: &[PathBuf],
) -> Result<ExecPlan, PlanError> {
    let ExecGrant::Listed { commands } = grant else {
        return Ok(ExecPlan::Any);
    };
    let mut programs = Vec::new();
    // The entrypoint, then each command once, in the order granted.
    let mut wanted: Vec<(&str, ExecSource)> = vec![(program, ExecSource::Entrypoint)];
    for command in commands {
        if !wanted
            .iter()
            .any(|(name, source)| *source == ExecSource::Command && *name == command.as_str())
        {
            wanted.push((command, ExecSource::Command));
        }
    }
    for (name, source) in wanted {
        let found = resolved
            .iter()
            .find(|program| program.name == name && program.source == source);
        let files = match found.map(|program| &program.files) {
            Some(Ok(files)) => files.clone(),
            Some(Err(reason)) => {
                return Err(PlanError::Unresolved {
                    name: name.to_string(),
                    by: source,
                    reason: reason.clone(),
                });
            }
            None => {
                return Err(PlanError::Unresolved {
                    name: name.to_string(),
                    by: source,
                    reason: ResolveFailure::Missing {
                        path: PathBuf::from(name),
                    },
                });
            }
        };
        for file in &files {
            if !visible(&file.path, binds, system_dirs) {
                return Err(PlanError::ExecutableNotVisible {
                    name: name.to_string(),
                    path: file.path.clone(),
                });
            }
        }
        programs.push(PlannedProgram {
            name: name.to_string(),
            source,
            files,
        });
    }
    Ok(ExecPlan::Only { programs })
}

/// Whether the sandbox shows `path` at the same place: under `/usr`, a real system
/// directory, or a `files.*` bind.
fn visible(path: &Path, binds: &[Bind], system_dirs: &[PathBuf]) -> bool {
    path.starts_with("/usr")
        || system_dirs.iter().any(|dir| path.starts_with(dir))
        || binds.iter().any(|bind| {
            bind.access != MountAccess::Connect
                && match bind.kind {
                    PathKind::Dir => path.starts_with(bind.path()),
                    PathKind::File => path == bind.path(),
                }
        })
}

/// Whether a writable bind must stay executable: it holds a file the run may execute, or a
/// path a program was found at (a virtualenv's `bin/python` linking to the system's, whose
/// own libraries sit beside it).
pub(super) fn holds_executable(bind: &Bind, exec: &ExecPlan, resolved: &[ResolvedProgram]) -> bool {
    let ExecPlan::Only { programs } = exec else {
        return true;
    };
    let inside = |path: &Path| match bind.kind {
        PathKind::Dir => path.starts_with(bind.path()),
        PathKind::File => path == bind.path(),
    };
    programs
        .iter()
        .flat_map(|program| &program.files)
        .any(|file| inside(&file.path))
        || resolved
            .iter()
            .filter_map(|program| program.found_as.as_deref())
            .any(inside)
}
