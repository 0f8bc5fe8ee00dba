//! The mount table (`/proc/self/mountinfo`) and the filesystems in it that show another tree:
//! an overlay shows its lower layers and takes writes into its upper one, so a scope on it is
//! rated as each of its layers; a kernel interface (procfs, binfmt_misc, ...) or a FUSE
//! filesystem is rated by its type (`filesystems` in the sensitive-path table), wherever it is.

use super::{Finding, join};
use aegisclaw_core::scope::Risk;
use std::path::{Path, PathBuf};

/// One line of the mount table: the filesystem (`major:minor`), the directory of it that is
/// mounted (`root`), where, its type, and its filesystem's own options.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Mount {
    pub(super) device: String,
    pub(super) root: PathBuf,
    pub(super) point: PathBuf,
    pub(super) fstype: String,
    pub(super) options: String,
}

impl Mount {
    /// The directories an overlay shows, each with its role (`lower`, `upper`, `work`, `data`),
    /// from its options: `lowerdir=` (a `:`-separated list, `\` escaping the next character;
    /// `::` marks data-only layers), `lowerdir+=`, `datadir+=`, `upperdir=`, `workdir=`.
    /// Empty for any other filesystem.
    pub(super) fn layers(&self) -> Vec<(&'static str, PathBuf)> {
        if self.fstype != "overlay" {
            return Vec::new();
        }
        let mut layers = Vec::new();
        for option in self.options.split(',') {
            let Some((key, value)) = option.split_once('=') else {
                continue;
            };
            let value = unescape(value);
            let role = match key {
                "lowerdir" => {
                    layers.extend(split_layers(&value).map(|dir| ("lower", dir)));
                    continue;
                }
                "lowerdir+" => "lower",
                "datadir+" => "data",
                "upperdir" => "upper",
                "workdir" => "work",
                _ => continue,
            };
            layers.push((role, PathBuf::from(value)));
        }
        layers
    }
}

/// A `lowerdir=` list: split at each `:` that no `\` escapes, the escapes undone, empty
/// entries (`::`) left out.
fn split_layers(value: &str) -> impl Iterator<Item = PathBuf> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            ':' => {
                parts.push(String::new());
                continue;
            }
            '\\' => match chars.next() {
                Some(next) => next,
                None => continue,
            },
            c => c,
        };
        if let Some(part) = parts.last_mut() {
            part.push(c);
        }
    }
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .map(PathBuf::from)
}

/// What `path` is shown through: for the mount it is on (unless that is the root filesystem,
/// the system as this process sees it, whose paths the table names) and each mount inside it,
/// an overlay's layers (the part of each the path names) to rate as the scope, and a mount
/// whose type the table rates (a kernel interface, FUSE) as that.
/// The mount `path` is on: the deepest mount point above it, the last mounted there; with its
/// index in `mounts`.
pub(super) fn mount_holding<'m>(path: &Path, mounts: &'m [Mount]) -> Option<(usize, &'m Mount)> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, mount)| path.starts_with(&mount.point))
        .max_by_key(|(index, mount)| (mount.point.components().count(), *index))
}

pub(in crate::authorise) fn shown_through(
    path: &Path,
    mounts: &[Mount],
    layers: &mut Vec<Finding>,
    direct: &mut Vec<(Risk, String)>,
) {
    let holding = mount_holding(path, mounts)
        .map(|(_, mount)| mount)
        .filter(|mount| mount.point != Path::new("/"));
    let inside = mounts
        .iter()
        .filter(|mount| mount.point != path && mount.point.starts_with(path));
    for (mount, on) in holding
        .map(|mount| (mount, true))
        .into_iter()
        .chain(inside.map(|mount| (mount, false)))
    {
        let point = mount.point.display();
        // A kernel interface or a FUSE filesystem is what its type says wherever it is
        // mounted: a new superblock has no table path, device or inode to be known by.
        let typed =
            aegisclaw_core::scope::filesystem_rating(&mount.fstype).unwrap_or_else(|error| {
                Some((Risk::Critical, format!("its type cannot be rated: {error}")))
            });
        if let Some((risk, reason)) = typed {
            let at = if on {
                format!("`{}` is on", path.display())
            } else {
                "holds".to_string()
            };
            direct.push((
                risk,
                format!(
                    "{at} a `{}` filesystem mounted at `{point}`: {reason}",
                    mount.fstype
                ),
            ));
        }
        let rest = if on {
            path.strip_prefix(&mount.point).unwrap_or(Path::new(""))
        } else {
            Path::new("")
        };
        let layers_of = mount.layers();
        if !layers_of.is_empty() {
            let at = if on {
                format!("`{}` is on", path.display())
            } else {
                "holds".to_string()
            };
            // The kernel keeps the directories it was given when the overlay was mounted; the
            // mount table shows only the text of their paths, which may since name something
            // else (a symlink repointed, a mount gone, a directory replaced). The layers are
            // rated as they resolve now, and the overlay is never less than high.
            direct.push((
                Risk::High,
                format!(
                    "{at} an overlay mounted at `{point}`: the directories it shows are known here only by the text of their paths when it was mounted, which may since name other ones"
                ),
            ));
        }
        for (role, layer) in layers_of {
            // As named, and as it resolves now (a layer given through a symlink).
            if let Ok(resolved) = fs_err::canonicalize(&layer)
                && resolved != layer
            {
                let shown = join(&resolved, rest);
                let why = format!(
                    "`{}` is on or holds an overlay mounted at `{point}` whose {role} layer `{}` resolves to `{}`, so it shows `{}`",
                    path.display(),
                    layer.display(),
                    resolved.display(),
                    shown.display()
                );
                layers.push(Finding { path: shown, why });
            }
            let shown = join(&layer, rest);
            let why = if on {
                format!(
                    "`{}` is on an overlay mounted at `{point}` whose {role} layer is `{}`, so it is `{}`",
                    path.display(),
                    layer.display(),
                    shown.display()
                )
            } else {
                format!(
                    "holds an overlay mounted at `{point}` whose {role} layer is `{}`",
                    layer.display()
                )
            };
            layers.push(Finding { path: shown, why });
        }
    }
}

/// The mounts `/proc/self/mountinfo` lists, in its order (later mounts over earlier ones).
/// Lines that do not parse are left out.
pub(super) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let (device, root, point) = (fields.get(2)?, fields.get(3)?, fields.get(4)?);
            // Optional fields end at a lone `-`; type, source and options follow.
            let after = fields.iter().skip(6).position(|field| *field == "-");
            let tail = |at: usize| {
                after
                    .and_then(|dash| fields.get(6 + dash + at))
                    .map_or_else(String::new, |field| (*field).to_string())
            };
            Some(Mount {
                device: (*device).to_string(),
                root: PathBuf::from(unescape(root)),
                point: PathBuf::from(unescape(point)),
                fstype: tail(1),
                options: tail(3),
            })
        })
        .collect()
}

/// Undoes the mount table's octal escapes (`\040` for a space, `\134` for `\`).
pub(super) fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let octal = bytes
            .get(at + 1..at + 4)
            .filter(|digits| bytes[at] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)))
            .map(|digits| digits.iter().fold(0u32, |n, d| n * 8 + u32::from(d - b'0')));
        match octal.and_then(|value| u8::try_from(value).ok()) {
            Some(byte) => {
                out.push(byte);
                at += 4;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
