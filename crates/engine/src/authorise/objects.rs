//! Step 5 of authorisation for path scopes: rates a scope as the sensitive object it names by
//! another name (docs/security.md, "Rating by object"). A bind mount of `~/.ssh` at `/srv/x`,
//! a hard link to `~/.netrc`, a mount of a directory inside a sensitive tree: the scope path,
//! each ancestor and each mount inside it are compared by device and inode with the table's
//! paths (each stat once per authorisation), and through the mount table with where each mount
//! comes from. The core rates what is found; this module only finds it.

use aegisclaw_core::scope::{
    Rating, Risk, Scope, ScopeContext, ScopeKind, SensitiveObject, Target, sensitive_objects,
};
use aegisclaw_sandbox::path::OpenedPath;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// Homes under `/home` whose sensitive names are compared as objects, at most; on a host with
/// more, the rest are compared by path and through the mount table only.
const MAX_HOMES: usize = 64;

/// Sensitive directories a reason names before the rest are counted.
const SHOWN_NEAR: usize = 2;

/// Where the mount table is read.
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The table's paths as host objects, and the mount table, gathered once per authorisation.
pub(super) struct Objects {
    /// Each table path that exists, with its device and inode; or why the table has none.
    known: Result<Vec<Known>, String>,
    /// The mount table, or why it cannot be read.
    mounts: Result<Vec<Mount>, String>,
    /// The backing file of each attached loop device.
    backing: Vec<Backing>,
}

struct Known {
    object: SensitiveObject,
    dev: u64,
    ino: u64,
    directory: bool,
}

use backing::{Backing, backing_files, backing_stores};
use mount::{Mount, mount_holding, parse_mountinfo, shown_through};

mod backing;
mod mount;

/// A scope's rating with the object comparisons in it, and those reasons alone for the record.
#[derive(Debug)]
pub(super) struct ObjectRating {
    /// The rating: the highest of the path's own and of every object it was found to be.
    pub(super) rating: Rating,
    /// Why the scope is a sensitive object by another name (empty when it is not).
    pub(super) object_reasons: Vec<String>,
}

/// Another path that names (part of) what a scope binds, and how it was found.
struct Finding {
    path: PathBuf,
    why: String,
}

/// Overlays on overlays followed at most (each level's layers are rated as the scope).
const MAX_DEPTH: usize = 4;

/// The files `aegisclaw init` makes in a home's `keys/` that hold private keys.
const KEY_FILES: [&str; 2] = ["audit.key", "signing.key"];

/// The directory of a home that holds them, and the file beside it that makes it a home.
const KEYS_DIR: &str = "keys";
const HOME_CONFIG: &str = "config.yaml";

/// Entries of a scope directory looked into for an AegisClaw home, at most.
const MAX_CHILDREN: usize = 4096;

/// An AegisClaw key file in `keys` (a directory named `keys`), if there is one.
fn key_file(keys: &Path) -> Option<PathBuf> {
    KEY_FILES
        .iter()
        .map(|name| keys.join(name))
        .find(|file| fs_err::symlink_metadata(file).is_ok_and(|metadata| metadata.is_file()))
}

/// AegisClaw homes and key directories by their structure, wherever they are (another home
/// than the current one, at a path the table cannot name): the path or an ancestor that is a
/// `keys` directory holding AegisClaw's key files, or a home (its `config.yaml` beside such a
/// `keys`); and a path that holds such a `keys`, directly or in a directory directly in it.
fn key_directories(path: &Path, direct: &mut Vec<(Risk, String)>) {
    let critical = |direct: &mut Vec<(Risk, String)>, reason: String| {
        direct.push((Risk::Critical, reason));
    };
    for ancestor in path.ancestors() {
        if ancestor.file_name().is_some_and(|name| name == KEYS_DIR)
            && let Some(file) = key_file(ancestor)
        {
            critical(
                direct,
                format!(
                    "`{}` holds `{}`, a private key file as AegisClaw keeps them: an AegisClaw home's keys sign skills and audit checkpoints",
                    ancestor.display(),
                    file.display()
                ),
            );
            return;
        }
        if let Some(file) = key_file(&ancestor.join(KEYS_DIR))
            && fs_err::symlink_metadata(ancestor.join(HOME_CONFIG)).is_ok()
        {
            critical(
                direct,
                format!(
                    "`{}` is an AegisClaw home (it holds `{HOME_CONFIG}` and `{}`): its keys, secrets, policy and audit log",
                    ancestor.display(),
                    file.display()
                ),
            );
            return;
        }
    }
    if let Some(file) = key_file(&path.join(KEYS_DIR)) {
        critical(
            direct,
            format!(
                "`{}` holds `{}`, a private key file as AegisClaw keeps them",
                path.display(),
                file.display()
            ),
        );
        return;
    }
    let Ok(listing) = fs_err::read_dir(path) else {
        return;
    };
    for entry in listing.filter_map(Result::ok).take(MAX_CHILDREN) {
        if entry.file_type().is_ok_and(|kind| kind.is_dir())
            && let Some(file) = key_file(&entry.path().join(KEYS_DIR))
        {
            critical(
                direct,
                format!(
                    "`{}` holds `{}`, a private key file as AegisClaw keeps them",
                    path.display(),
                    file.display()
                ),
            );
            return;
        }
    }
}

impl Objects {
    /// Stats every table path for `context` (the homes it names, `/root`, the homes under
    /// `/home`, the AegisClaw home, the running binary) and reads the mount table.
    pub(super) fn gather(context: &ScopeContext) -> Self {
        let mut homes = vec![PathBuf::from("/root")];
        if let Ok(listing) = fs_err::read_dir("/home") {
            let mut found: Vec<PathBuf> = listing
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .map(|entry| entry.path())
                .collect();
            found.sort();
            found.truncate(MAX_HOMES);
            homes.extend(found);
        }
        let known = sensitive_objects(context, &homes)
            .map(|objects| {
                objects
                    .into_iter()
                    .filter_map(|object| {
                        let metadata = fs_err::metadata(object.path()).ok()?;
                        Some(Known {
                            dev: metadata.dev(),
                            ino: metadata.ino(),
                            directory: metadata.is_dir(),
                            object,
                        })
                    })
                    .collect()
            })
            .map_err(|error| error.to_string());
        // Only Linux has the table (and the native runtime); elsewhere nothing is mounted twice
        // that this could find.
        let mounts = if cfg!(target_os = "linux") {
            fs_err::read_to_string(MOUNTINFO)
                .map(|text| parse_mountinfo(&text))
                .map_err(|error| error.to_string())
        } else {
            Ok(Vec::new())
        };
        let backing = match (&mounts, cfg!(target_os = "linux")) {
            (Ok(mounts), true) => backing_files(mounts),
            _ => Vec::new(),
        };
        Self {
            known,
            mounts,
            backing,
        }
    }

    /// Rates `scope` (its path resolved, `opened` the object decided on) as itself and as
    /// every sensitive object it is found to be or to hold.
    pub(super) fn rate(
        &self,
        scope: &Scope,
        opened: Option<&OpenedPath>,
        context: &ScopeContext,
    ) -> ObjectRating {
        let base = scope.rating(context);
        let (Target::Path(path), Some(opened)) = (scope.target(), opened) else {
            return ObjectRating {
                rating: base,
                object_reasons: Vec::new(),
            };
        };
        let kind = scope.kind();
        let mut object_reasons = Vec::new();
        let mut risk = base.risk;
        let mut raise = |raised: Risk, reason: String| {
            risk = risk.max(raised);
            if !object_reasons.contains(&reason) {
                object_reasons.push(reason);
            }
        };
        let (known, mounts) = match (&self.known, &self.mounts) {
            (Ok(known), Ok(mounts)) => (known, mounts),
            (Err(problem), _) | (_, Err(problem)) => {
                raise(
                    Risk::Critical,
                    format!(
                        "`{}` cannot be compared with the sensitive paths as an object: {problem}",
                        path.display()
                    ),
                );
                return finish(base, risk, object_reasons);
            }
        };
        let mut findings = Vec::new();
        let mut direct = Vec::new();
        // A file found to be a table path is known; only one whose other names are unknown
        // is rated by where they could be.
        if !same_objects(
            path,
            Some((opened.dev(), opened.ino())),
            known,
            &mut findings,
        ) && let Some(reason) = many_names(path, opened, kind, known)
        {
            raise(Risk::Critical, reason);
        }
        mounted_inside(path, known, mounts, &mut findings);
        mounted_from(path, mounts, &mut findings);
        let other_paths: Vec<&Path> = findings
            .iter()
            .map(|finding| finding.path.as_path())
            .collect();
        backing_stores(
            path,
            opened,
            &other_paths,
            &self.backing,
            mounts,
            kind,
            &mut raise,
        );
        key_directories(path, &mut direct);
        let mut layers = Vec::new();
        shown_through(path, mounts, &mut layers, &mut direct);
        // Each directory a filesystem shows (an overlay's layers) is rated as if the scope named
        // it: as a path, and as an object by the same checks, through nested overlays too.
        let mut depth = 0;
        while !layers.is_empty() && depth < MAX_DEPTH {
            depth += 1;
            let mut next = Vec::new();
            for layer in std::mem::take(&mut layers) {
                let mut found = Vec::new();
                same_objects(&layer.path, None, known, &mut found);
                mounted_from(&layer.path, mounts, &mut found);
                let mut near = Vec::new();
                key_directories(&layer.path, &mut near);
                shown_through(&layer.path, mounts, &mut next, &mut near);
                let through = |why: &str| format!("{}, and {why}", layer.why);
                findings.extend(found.into_iter().map(|finding| Finding {
                    why: through(&finding.why),
                    path: finding.path,
                }));
                direct.extend(near.into_iter().map(|(risk, why)| (risk, through(&why))));
                findings.push(layer);
            }
            layers = next;
        }
        if !layers.is_empty() {
            raise(
                Risk::Critical,
                format!(
                    "`{}` is shown through more than {MAX_DEPTH} overlays, which are not followed further",
                    path.display()
                ),
            );
        }
        for (raised, reason) in direct {
            raise(raised, reason);
        }
        for finding in findings {
            let text = format!("{kind}:{}", finding.path.display());
            match Scope::parse(&text, context) {
                Ok(other) => {
                    let rating = other.rating(context);
                    // The last reason is the kind's default; any before it raised the risk.
                    if let Some(first) = rating.reasons.first()
                        && rating.reasons.len() > 1
                    {
                        raise(rating.risk, format!("{}: {first}", finding.why));
                    }
                }
                Err(error) => raise(
                    Risk::Critical,
                    format!("{}, which cannot be rated: {error}", finding.why),
                ),
            }
        }
        finish(base, risk, object_reasons)
    }
}

fn finish(base: Rating, risk: Risk, object_reasons: Vec<String>) -> ObjectRating {
    let mut reasons = object_reasons.clone();
    reasons.extend(base.reasons);
    ObjectRating {
        rating: Rating { risk, reasons },
        object_reasons,
    }
}

/// The path and each ancestor that is a table path's object under another path (a bind mount
/// of it, or a hard link to it): the scope is that path, and what lies below it. Whether the
/// path itself is one.
fn same_objects(
    path: &Path,
    opened: Option<(u64, u64)>,
    known: &[Known],
    findings: &mut Vec<Finding>,
) -> bool {
    let mut itself = false;
    let mut object = opened;
    for ancestor in path.ancestors() {
        let Some((dev, ino)) = object.take().or_else(|| {
            let metadata = fs_err::metadata(ancestor).ok()?;
            Some((metadata.dev(), metadata.ino()))
        }) else {
            continue;
        };
        for entry in known {
            if (entry.dev, entry.ino) == (dev, ino) && entry.object.path() != ancestor {
                itself |= ancestor == path;
                let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
                findings.push(Finding {
                    path: join(entry.object.path(), rest),
                    why: format!(
                        "`{}` is `{}` (the same object by another name or mount)",
                        ancestor.display(),
                        entry.object.path().display()
                    ),
                });
            }
        }
    }
    itself
}

/// A file with more than one name: where the others are is unknown, so if any lies on the
/// filesystem of a sensitive directory whose files are sensitive for `kind`, one might be there.
fn many_names(
    path: &Path,
    opened: &OpenedPath,
    kind: ScopeKind,
    known: &[Known],
) -> Option<String> {
    let metadata = fs_err::metadata(path).ok()?;
    let same = (metadata.dev(), metadata.ino()) == (opened.dev(), opened.ino());
    if !same || metadata.is_dir() || metadata.nlink() < 2 {
        return None;
    }
    let mut near: Vec<&Path> = known
        .iter()
        .filter(|entry| {
            entry.dev == metadata.dev()
                && entry.directory
                && entry.object.holds_sensitive_files(kind)
                && entry.object.path() != path
        })
        .map(|entry| entry.object.path())
        .collect();
    if near.is_empty() {
        return None;
    }
    // The deepest first: a home's `.ssh` says more than `/etc`.
    near.sort_by_key(|path| std::cmp::Reverse(path.components().count()));
    let mut named: Vec<String> = near
        .iter()
        .take(SHOWN_NEAR)
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if near.len() > SHOWN_NEAR {
        named.push(format!("{} more", near.len() - SHOWN_NEAR));
    }
    Some(format!(
        "`{}` has {} names, and its other names may be inside a sensitive directory on its filesystem ({})",
        path.display(),
        metadata.nlink(),
        named.join(", ")
    ))
}

/// Mounts inside the path (a scope binds them too): each that is a table path's object.
fn mounted_inside(path: &Path, known: &[Known], mounts: &[Mount], findings: &mut Vec<Finding>) {
    for mount in mounts {
        if mount.point == path || !mount.point.starts_with(path) {
            continue;
        }
        let Ok(metadata) = fs_err::metadata(&mount.point) else {
            continue;
        };
        for entry in known {
            if (entry.dev, entry.ino) == (metadata.dev(), metadata.ino())
                && entry.object.path() != mount.point
            {
                findings.push(Finding {
                    path: entry.object.path().to_path_buf(),
                    why: format!(
                        "holds `{}`, which is `{}`",
                        mount.point.display(),
                        entry.object.path().display()
                    ),
                });
            }
        }
    }
}

/// Where the mount table says the path, and each mount inside it, also appear: another mount
/// of the same filesystem that shows the same directory (a bind mount's source), or a part of
/// it (a mount of a directory the path holds).
fn mounted_from(path: &Path, mounts: &[Mount], findings: &mut Vec<Finding>) {
    // The mount the path is on: the deepest mount point above it, the last mounted there.
    let Some((on, under)) = mount_holding(path, mounts) else {
        return;
    };
    let rest = path.strip_prefix(&under.point).unwrap_or(Path::new(""));
    let inside = join(&under.root, rest);
    for (index, other) in mounts.iter().enumerate() {
        if index == on || other.device != under.device {
            continue;
        }
        if let Ok(below) = inside.strip_prefix(&other.root) {
            let source = join(&other.point, below);
            if source != path && !source.starts_with(path) {
                findings.push(Finding {
                    why: format!(
                        "`{}` is mounted from `{}`",
                        path.display(),
                        source.display()
                    ),
                    path: source,
                });
            }
        } else if other.root.starts_with(&inside) && !other.point.starts_with(path) {
            findings.push(Finding {
                why: format!(
                    "`{}` holds what is mounted at `{}`",
                    path.display(),
                    other.point.display()
                ),
                path: other.point.clone(),
            });
        }
    }
    // Each mount inside the path, by its own source.
    for (index, inner) in mounts.iter().enumerate() {
        if inner.point == path || !inner.point.starts_with(path) {
            continue;
        }
        for (other_index, other) in mounts.iter().enumerate() {
            if other_index == index || other.device != inner.device {
                continue;
            }
            if let Ok(below) = inner.root.strip_prefix(&other.root) {
                let source = join(&other.point, below);
                if !source.starts_with(path) {
                    findings.push(Finding {
                        why: format!(
                            "holds `{}`, mounted from `{}`",
                            inner.point.display(),
                            source.display()
                        ),
                        path: source,
                    });
                }
            }
        }
    }
}

/// `base` joined with relative `rest` (`base` itself when `rest` is empty).
fn join(base: &Path, rest: &Path) -> PathBuf {
    if rest.as_os_str().is_empty() {
        base.to_path_buf()
    } else {
        base.join(rest)
    }
}

#[cfg(test)]
mod tests;
