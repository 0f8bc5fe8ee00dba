//! Rates a path against the sensitive-path table (`data/sensitive-paths.yaml`): every entry as
//! written, as the table's aliases spell it, and as the context's resolver resolves it; and lists
//! the table's paths for one context, for a caller that compares host objects with them. Does no
//! I/O itself, only through `ScopeContext::resolve`, once per entry and context (cached).

use super::super::parse::normalise_path;
use super::super::{PathResolver, Risk, ScopeContext, ScopeKind};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Contained sensitive paths listed in a reason before the rest are only counted.
const SHOWN_CONTAINED: usize = 3;

/// How the table names the directory holding the running `aegisclaw` (`ScopeContext::program`).
const PROGRAM_DIR: &str = "$AEGISCLAW_PROGRAM_DIR";

/// Contexts whose resolved table is kept: a process rates in one or two (the CLI's, a server's).
const CACHED_CONTEXTS: usize = 8;

/// `sensitive-paths.yaml`, exactly as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveFile {
    aliases: Vec<Alias>,
    paths: Vec<SensitivePath>,
    names: Vec<SensitiveName>,
    #[serde(default)]
    sockets: Vec<SensitiveSocket>,
    #[serde(default)]
    filesystems: Vec<SensitiveFilesystem>,
    /// Absent only in tests' small tables.
    #[serde(default)]
    hidden_in_home: Option<HiddenInHome>,
    /// Absent only in tests' small tables (then `ScopeContext::homes` are not entries).
    #[serde(default)]
    other_homes: Option<OtherHomes>,
    /// Trees where a path no entry makes critical is still rated (`/run`).
    #[serde(default)]
    unlisted_in: Vec<UnlistedTree>,
}

/// A tree where services keep credentials, keys and logs under more names than the table can
/// list: a `files.*` path at or in it that no entry makes critical is rated `risk`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlistedTree {
    path: String,
    risk: Risk,
    reason: String,
}

/// Why a home the user database names outside `/root` and `/home` (`ScopeContext::homes`) is
/// critical itself, as `/home/<user>` is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OtherHomes {
    reason: String,
}

/// How a path in a home whose first component there is hidden (`~/.X`, `~/.X/...`) is rated
/// when no entry makes it critical: tools keep keys, tokens and start-up files in such places,
/// more than any table can list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HiddenInHome {
    risk: Risk,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Alias {
    path: String,
    same_as: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitivePath {
    path: String,
    #[serde(default)]
    covers: Covers,
    #[serde(default)]
    access: Access,
    reason: String,
}

#[derive(Deserialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Covers {
    Itself,
    Children,
    #[default]
    Tree,
}

#[derive(Deserialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Access {
    #[default]
    Any,
    Write,
}

impl Access {
    /// Whether an entry with this access makes a scope of `kind` critical.
    fn applies_to(self, kind: ScopeKind) -> bool {
        self == Access::Any || kind == ScopeKind::FilesWrite
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveName {
    name: String,
    #[serde(default)]
    access: Access,
    /// Counts only directly in a home (`/root/<name>`, `/home/<user>/<name>`, `~/<name>`).
    #[serde(default)]
    home_only: bool,
    reason: String,
}

/// A socket (or socket directory) name that makes a `unix.connect` scope critical wherever it
/// is a component of the path, in any case (`Docker.sock`); it may end in `*`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveSocket {
    name: String,
    reason: String,
}

/// A mount type rated by what it is wherever it is mounted (`proc`, `binfmt_misc`, `fuse.*`):
/// a new superblock has neither a table path nor a table object's device and inode.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveFilesystem {
    #[serde(rename = "type")]
    fstype: String,
    risk: Risk,
    reason: String,
}

impl SensitiveFilesystem {
    /// Whether the mount table's type `fstype` is this entry (exactly, or by its prefix when
    /// the entry ends in `*`).
    fn matches(&self, fstype: &str) -> bool {
        match self.fstype.strip_suffix('*') {
            Some(prefix) => fstype.len() > prefix.len() && fstype.starts_with(prefix),
            None => fstype == self.fstype,
        }
    }
}

impl SensitiveSocket {
    /// Whether `component` is this name, ASCII case ignored: the service behind a socket
    /// answers whatever the file is called.
    fn matches(&self, component: &str) -> bool {
        match self.name.strip_suffix('*') {
            Some(prefix) => component
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
            None => component.eq_ignore_ascii_case(&self.name),
        }
    }
}

/// Whether `components` (of a normalised path) are a home the table knows by its place:
/// `/root` or `/home/<user>` (the running user's `~` is an entry of its own).
fn is_home(components: &[&str]) -> bool {
    matches!(components, ["root"] | ["home", _])
}

/// Where a normalised path's first component below a home is hidden (`.X`): the home (`/root`,
/// `/home/<user>` or the user's `user_home`) and that component. `None` when it is not.
fn hidden_in_home<'a>(path: &'a str, user_home: Option<&str>) -> Option<(&'a str, &'a str)> {
    let components: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let placed = match components.as_slice() {
        ["root", first, ..] => Some(("/root".len(), *first)),
        ["home", user, first, ..] => Some(("/home/".len() + user.len(), *first)),
        _ => None,
    };
    let placed = placed.or_else(|| {
        let home = user_home.filter(|home| *home != "/")?;
        let rest = below(path, home)?;
        let first = rest[1..].split('/').next()?;
        Some((home.len(), first))
    })?;
    let (home_len, first) = placed;
    (first.len() > 1 && first.starts_with('.') && first != "..").then(|| (&path[..home_len], first))
}

/// The sensitive-path table, validated, with the per-context forms it has prepared.
pub(in crate::scope) struct SensitiveTable {
    file: SensitiveFile,
    /// Each name's components, split once (`.config/gcloud` → `[".config", "gcloud"]`).
    name_parts: Vec<Vec<String>>,
    cache: Mutex<Vec<(ContextKey, Arc<Prepared>)>>,
}

/// What a prepared table depends on: the homes and which resolver (by address; two resolvers
/// the compiler merged are the same code, so sharing their entry is sound).
#[derive(Clone, PartialEq, Eq)]
struct ContextKey {
    user_home: Option<PathBuf>,
    aegisclaw_home: Option<PathBuf>,
    program: Option<PathBuf>,
    homes: Vec<PathBuf>,
    resolver: Option<usize>,
}

impl ContextKey {
    fn of(context: &ScopeContext) -> Self {
        Self {
            user_home: context.user_home.clone(),
            aegisclaw_home: context.aegisclaw_home.clone(),
            program: context.program.clone(),
            homes: context.homes.clone(),
            resolver: context.resolve.map(|resolve| resolve as usize),
        }
    }
}

/// The table for one context: every entry with the forms it is compared in.
struct Prepared {
    entries: Vec<Entry>,
}

/// One path entry (or a name as `~/<name>`) for one context.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// How a reason names the entry (`` `~/.ssh` ``, ``the AegisClaw home `/x` ``).
    label: String,
    /// The expansion shown in parentheses after the label (`` `/home/alice/.ssh` ``), if any.
    expanded: Option<String>,
    /// The forms compared, the written (expanded) one first.
    forms: Vec<Form>,
    covers: Covers,
    access: Access,
    reason: String,
}

impl Entry {
    /// How `path` relates to this entry in its first form that holds or covers it (else the
    /// first that it contains), and how a reason names the entry in that form.
    fn relation(&self, path: &str) -> Option<(Relation, String)> {
        let mut outer = None;
        let mut found = None;
        for form in &self.forms {
            match relate(path, &form.path, self.covers) {
                Some(Relation::Contains) => {
                    outer.get_or_insert(form);
                }
                Some(relation) => {
                    found = Some((relation, form));
                    break;
                }
                None => {}
            }
        }
        let (relation, form) = found.or_else(|| outer.map(|form| (Relation::Contains, form)))?;
        let notes: Vec<&str> = self
            .expanded
            .iter()
            .chain(form.note.iter())
            .map(String::as_str)
            .collect();
        let shown = if notes.is_empty() {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, notes.join(", "))
        };
        Some((relation, shown))
    }
}

/// How a reason names an entry: its label and, for a `~` path, the expansion.
struct Shown {
    label: String,
    expanded: Option<String>,
}

impl Shown {
    fn plain(label: String) -> Self {
        Self {
            label,
            expanded: None,
        }
    }

    fn expanded(written: &str, path: &str) -> Self {
        Self {
            label: format!("`{written}`"),
            expanded: Some(format!("`{path}`")),
        }
    }
}

/// What an entry covers, for which kinds, and why.
struct Rule<'a> {
    covers: Covers,
    access: Access,
    reason: &'a str,
}

/// One spelling of an entry: normalised, its last component perhaps ending in `*`.
#[derive(Debug, PartialEq, Eq)]
struct Form {
    path: String,
    /// `None` for the written form, else how it was reached ("resolved `/run/x`").
    note: Option<String>,
}

/// A path the table names, for one context, to compare host objects with (the engine matches
/// them by device and inode: a bind mount or a hard link is the same object by another path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensitiveObject {
    path: PathBuf,
    /// Whether the entry covers what is inside it (`tree`, `children`), not only itself.
    holds: bool,
    access: Access,
}

impl SensitiveObject {
    /// The path, absolute and normalised, as the table names it for the context.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a file inside it is sensitive for a scope of `kind`, so that a file with more
    /// names than the one a scope gives could be one of them.
    pub fn holds_sensitive_files(&self, kind: ScopeKind) -> bool {
        self.holds && self.access.applies_to(kind)
    }
}

/// How a scope path relates to an entry form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Is,
    Inside,
    Contains,
}

impl SensitiveTable {
    /// Parses and validates `sensitive-paths.yaml`; the error names the file and the entry.
    pub(super) fn from_yaml(text: &str) -> Result<Self, String> {
        let file: SensitiveFile = serde_saphyr::from_str(text)
            .map_err(|error| format!("`sensitive-paths.yaml`: {error}"))?;
        validate(&file).map_err(|problem| format!("`sensitive-paths.yaml`: {problem}"))?;
        let name_parts = file
            .names
            .iter()
            .map(|name| name.name.split('/').map(str::to_string).collect())
            .collect();
        Ok(Self {
            file,
            name_parts,
            cache: Mutex::new(Vec::new()),
        })
    }

    /// How a mount of type `fstype` (as `/proc/self/mountinfo` names it) is rated wherever it
    /// is: its risk and why, or `None` when its type says nothing.
    pub(super) fn filesystem(&self, fstype: &str) -> Option<(Risk, &str)> {
        self.file
            .filesystems
            .iter()
            .find(|entry| entry.matches(fstype))
            .map(|entry| (entry.risk, entry.reason.as_str()))
    }

    /// How many entries, names and aliases the table has (for tests of the embedded table).
    #[cfg(test)]
    pub(super) fn counts(&self) -> (usize, usize, usize, usize) {
        (
            self.file.paths.len(),
            self.file.names.len(),
            self.file.aliases.len(),
            self.file.sockets.len(),
        )
    }

    /// Why `path` (absolute, normalised, and resolved when `context.resolve` is set) is
    /// sensitive for `kind`: what it is or is inside first, then the sensitive names in it;
    /// only when it is neither, the sensitive paths it contains. Empty when it is none.
    /// A path in a home whose first component there is hidden, and which no entry makes
    /// critical, is rated by `hidden_in_home`.
    pub(super) fn reasons(
        &self,
        kind: ScopeKind,
        path: &str,
        context: &ScopeContext,
    ) -> Vec<(Risk, String)> {
        let mut reasons = match self.prepared(context) {
            Ok(prepared) => self.rate(&prepared, kind, path),
            Err(problem) => return vec![(Risk::Critical, problem)],
        };
        if reasons.is_empty() && matches!(kind, ScopeKind::FilesRead | ScopeKind::FilesWrite) {
            let user_home = home_text(context.user_home.as_deref()).ok().flatten();
            let others: Vec<String> = context
                .homes
                .iter()
                .filter_map(|home| home_text(Some(home)).ok().flatten())
                .collect();
            let placed = hidden_in_home(path, user_home.as_deref()).or_else(|| {
                others
                    .iter()
                    .find_map(|home| hidden_in_home(path, Some(home)))
            });
            if let Some(rule) = &self.file.hidden_in_home
                && let Some((home, first)) = placed
            {
                reasons.push((
                    rule.risk,
                    format!("`{first}` in the home `{home}`: {}", rule.reason),
                ));
            }
            if reasons.is_empty()
                && let Some(tree) = self.file.unlisted_in.iter().find(|tree| {
                    self.alias_forms(&tree.path)
                        .iter()
                        .any(|form| at_or_below(path, form).is_some())
                })
            {
                reasons.push((
                    tree.risk,
                    format!("`{path}` is in `{}`: {}", tree.path, tree.reason),
                ));
            }
        }
        reasons
    }

    /// `path` and its spellings through the table's aliases (`/run/x` is also `/var/run/x`).
    fn alias_forms(&self, path: &str) -> Vec<String> {
        let mut forms = vec![path.to_string()];
        for alias in &self.file.aliases {
            for (from, to) in [(&alias.same_as, &alias.path), (&alias.path, &alias.same_as)] {
                if let Some(rest) = at_or_below(path, from) {
                    forms.push(format!("{to}{rest}"));
                }
            }
        }
        forms
    }

    /// The table prepared for `context`, from the cache or made now (resolving each entry).
    fn prepared(&self, context: &ScopeContext) -> Result<Arc<Prepared>, String> {
        let key = ContextKey::of(context);
        let cached = |cache: &[(ContextKey, Arc<Prepared>)]| {
            cache
                .iter()
                .find(|(known, _)| *known == key)
                .map(|(_, prepared)| Arc::clone(prepared))
        };
        if let Some(prepared) = cached(&self.cache.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(prepared);
        }
        // Resolve outside the lock: it is I/O, and a race only prepares the same table twice.
        let prepared = Arc::new(self.prepare(context)?);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(prepared) = cached(&cache) {
            return Ok(prepared);
        }
        if cache.len() == CACHED_CONTEXTS {
            cache.remove(0);
        }
        cache.push((key, Arc::clone(&prepared)));
        Ok(prepared)
    }

    /// Every path entry and name as a path for `context` (each name under `~` and under each of
    /// `homes`), and the running `aegisclaw` itself: patterns (`/tmp/krb5cc_*`) are left out.
    pub(super) fn objects(
        &self,
        context: &ScopeContext,
        homes: &[PathBuf],
    ) -> Result<Vec<SensitiveObject>, String> {
        let prepared = self.prepared(context)?;
        let mut objects: Vec<SensitiveObject> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut add = |path: String, covers: Covers, access: Access| {
            if !path.contains('*') && seen.insert(path.clone()) {
                objects.push(SensitiveObject {
                    path: PathBuf::from(path),
                    holds: covers != Covers::Itself,
                    access,
                });
            }
        };
        for entry in &prepared.entries {
            add(entry.forms[0].path.clone(), entry.covers, entry.access);
        }
        for home in homes {
            let Some(home) = home_text(Some(home)).map_err(|problem| format!("home {problem}"))?
            else {
                continue;
            };
            for name in &self.file.names {
                add(
                    join(&home, &format!("/{}", name.name)),
                    Covers::Tree,
                    name.access,
                );
            }
        }
        if let Some(program) = home_text(context.program.as_deref())
            .map_err(|problem| format!("the running `aegisclaw` {problem}"))?
        {
            add(program, Covers::Itself, Access::Write);
        }
        Ok(objects)
    }

    /// Expands, aliases and resolves every path entry, and every name as `~/<name>`.
    fn prepare(&self, context: &ScopeContext) -> Result<Prepared, String> {
        let user_home = home_text(context.user_home.as_deref())
            .map_err(|problem| format!("user home {problem}"))?;
        let aegisclaw_home = home_text(context.aegisclaw_home.as_deref())
            .map_err(|problem| format!("AegisClaw home {problem}"))?;
        let program_dir = home_text(context.program.as_deref().and_then(Path::parent))
            .map_err(|problem| format!("the running `aegisclaw`'s directory {problem}"))?;
        let mut entries = Vec::new();
        for entry in &self.file.paths {
            let written = entry.path.as_str();
            let (expanded, shown) = match written {
                "$AEGISCLAW_HOME" => {
                    let Some(home) = &aegisclaw_home else {
                        continue;
                    };
                    let label = format!("the AegisClaw home `{home}`");
                    (home.clone(), Shown::plain(label))
                }
                PROGRAM_DIR => {
                    let Some(directory) = &program_dir else {
                        continue;
                    };
                    let label = format!("the directory of the running `aegisclaw` `{directory}`");
                    (directory.clone(), Shown::plain(label))
                }
                _ => match written.strip_prefix('~') {
                    Some(rest) => {
                        let Some(home) = &user_home else { continue };
                        let path = join(home, rest);
                        (path.clone(), Shown::expanded(written, &path))
                    }
                    None => (written.to_string(), Shown::plain(format!("`{written}`"))),
                },
            };
            let rule = Rule {
                covers: entry.covers,
                access: entry.access,
                reason: &entry.reason,
            };
            entries.push(self.entry(expanded, shown, rule, context));
        }
        if let Some(rule) = &self.file.other_homes {
            for home in &context.homes {
                let home = home_text(Some(home)).map_err(|problem| format!("home {problem}"))?;
                let Some(home) = home.filter(|home| home != "/") else {
                    continue;
                };
                let shown = Shown::plain(format!("the home `{home}` (`/etc/passwd`)"));
                let rule = Rule {
                    covers: Covers::Itself,
                    access: Access::Any,
                    reason: &rule.reason,
                };
                entries.push(self.entry(home, shown, rule, context));
            }
        }
        if let Some(home) = &user_home {
            for name in &self.file.names {
                let path = join(home, &format!("/{}", name.name));
                let shown = Shown::expanded(&format!("~/{}", name.name), &path);
                let rule = Rule {
                    covers: Covers::Tree,
                    access: name.access,
                    reason: &name.reason,
                };
                entries.push(self.entry(path, shown, rule, context));
            }
        }
        Ok(Prepared { entries })
    }

    /// An entry compared as `written` (expanded), as each alias spells it, and as resolved.
    fn entry(
        &self,
        written: String,
        shown: Shown,
        rule: Rule<'_>,
        context: &ScopeContext,
    ) -> Entry {
        let mut forms = vec![Form {
            path: written.clone(),
            note: None,
        }];
        let mut add = |path: String, note: String| {
            if !forms.iter().any(|form| form.path == path) {
                forms.push(Form {
                    path,
                    note: Some(note),
                });
            }
        };
        for alias in &self.file.aliases {
            for (from, to) in [(&alias.same_as, &alias.path), (&alias.path, &alias.same_as)] {
                if let Some(rest) = at_or_below(&written, from) {
                    let path = format!("{to}{rest}");
                    add(path.clone(), format!("as `{path}`"));
                }
            }
        }
        if let Some(resolve) = context.resolve
            && let Some(resolved) = resolve_form(resolve, &written)
        {
            add(resolved.clone(), format!("resolved `{resolved}`"));
        }
        Entry {
            label: shown.label,
            expanded: shown.expanded,
            forms,
            covers: rule.covers,
            access: rule.access,
            reason: rule.reason.to_string(),
        }
    }

    fn rate(&self, prepared: &Prepared, kind: ScopeKind, path: &str) -> Vec<(Risk, String)> {
        let mut direct: Vec<(&str, String)> = Vec::new();
        let mut contained: Vec<(&str, String)> = Vec::new();
        for entry in &prepared.entries {
            if !entry.access.applies_to(kind) {
                continue;
            }
            match entry.relation(path) {
                Some((Relation::Contains, shown)) => contained.push((
                    &entry.reason,
                    format!("contains sensitive path {shown}: {}", entry.reason),
                )),
                Some((relation, shown)) => {
                    let relation = match relation {
                        Relation::Is => "sensitive path",
                        _ => "inside sensitive path",
                    };
                    direct.push((
                        &entry.reason,
                        format!("{relation} {shown}: {}", entry.reason),
                    ));
                }
                None => {}
            }
        }
        if direct.is_empty() {
            let components: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
            for (name, parts) in self.file.names.iter().zip(&self.name_parts) {
                if !name.access.applies_to(kind) {
                    continue;
                }
                let anywhere = if name.home_only {
                    format!("(`{}` in a home): {}", name.name, name.reason)
                } else {
                    format!("(`{}` anywhere): {}", name.name, name.reason)
                };
                let placed = |start: usize| !name.home_only || is_home(&components[..start]);
                if let Some(end) = components
                    .windows(parts.len())
                    .enumerate()
                    .position(|(start, window)| window == parts.as_slice() && placed(start))
                    .map(|start| start + parts.len())
                {
                    let relation = if end == components.len() {
                        "sensitive path"
                    } else {
                        "inside sensitive path"
                    };
                    let at = components[..end].join("/");
                    direct.push((&name.reason, format!("{relation} `/{at}` {anywhere}")));
                } else if let Some(rest) = (1..parts.len()).rev().find_map(|start| {
                    // The path's last components begin the name: it holds the rest.
                    let at = components.len().checked_sub(start)?;
                    let tail = components.get(at..)?;
                    (tail == &parts[..start] && placed(at)).then(|| parts[start..].join("/"))
                }) {
                    let inner = format!("{}/{rest}", path.trim_end_matches('/'));
                    contained.push((
                        &name.reason,
                        format!("contains sensitive path `{inner}` {anywhere}"),
                    ));
                }
            }
        }
        // A socket that hands out code execution is critical to connect to wherever it lives
        // (named only where no entry already says why).
        if kind == ScopeKind::UnixConnect && direct.is_empty() {
            for socket in &self.file.sockets {
                if let Some(component) = path.split('/').find(|component| socket.matches(component))
                {
                    direct.push((
                        &socket.reason,
                        format!(
                            "sensitive socket `{component}` (`{}` anywhere): {}",
                            socket.name, socket.reason
                        ),
                    ));
                }
            }
        }
        // Every direct reason is shown (each is a different way in); contained ones are counted
        // past the first few.
        let reasons = if direct.is_empty() {
            let mut reasons = once_per_reason(contained);
            if reasons.len() > SHOWN_CONTAINED {
                let more = reasons.len() - SHOWN_CONTAINED;
                reasons.truncate(SHOWN_CONTAINED);
                reasons.push(format!("and {more} more sensitive paths inside it"));
            }
            reasons
        } else {
            once_per_reason(direct)
        };
        reasons
            .into_iter()
            .map(|reason| (Risk::Critical, reason))
            .collect()
    }
}

/// Each reason text once (the first entry that gives it): `/run/docker.sock` and its alias, or
/// a history file under two names, say the same thing.
fn once_per_reason(reasons: Vec<(&str, String)>) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut kept = Vec::new();
    for (reason, text) in reasons {
        if !seen.contains(&reason) {
            seen.push(reason);
            kept.push(text);
        }
    }
    kept
}

/// Every path, name and alias well formed, with a reason, and none listed twice.
fn validate(file: &SensitiveFile) -> Result<(), String> {
    let mut keys: Vec<&str> = Vec::new();
    for alias in &file.aliases {
        for path in [&alias.path, &alias.same_as] {
            if path == "/" || !is_normal(path) || path.contains('*') {
                return Err(format!("alias `{path}` is not a normalised absolute path"));
            }
        }
        unique(&mut keys, &alias.path)?;
        has_reason(&alias.path, &alias.reason)?;
    }
    // Entries are translated through aliases, not scope paths: that is complete only when no
    // entry holds an alias's directory (`/run` would hold `/run/lock` without `/var/lock`).
    for alias in &file.aliases {
        for directory in [&alias.path, &alias.same_as] {
            if let Some(entry) = file.paths.iter().find(|entry| {
                let (base, _) = split_pattern(&entry.path);
                base.starts_with('/') && base != "/" && below(directory, base).is_some()
            }) {
                return Err(format!(
                    "alias `{directory}` lies inside entry `{}`: list what is under it instead",
                    entry.path
                ));
            }
        }
    }
    for entry in &file.paths {
        let path = entry.path.as_str();
        let well_formed = match path {
            "~" | "$AEGISCLAW_HOME" | PROGRAM_DIR => true,
            _ => {
                let absolute = path.strip_prefix('~').unwrap_or(path);
                is_normal(absolute) && glob_is_well_formed(absolute)
            }
        };
        if !well_formed {
            return Err(format!(
                "path `{path}` is not normalised (or has a `*` that does not end its last component)"
            ));
        }
        unique(&mut keys, path)?;
        has_reason(path, &entry.reason)?;
    }
    for name in &file.names {
        let text = name.name.as_str();
        if !is_normal(&format!("/{text}")) || text.contains('*') {
            return Err(format!("name `{text}` is not a normalised relative path"));
        }
        unique(&mut keys, text)?;
        has_reason(text, &name.reason)?;
    }
    if let Some(rule) = &file.hidden_in_home {
        has_reason("hidden_in_home", &rule.reason)?;
    }
    if let Some(rule) = &file.other_homes {
        has_reason("other_homes", &rule.reason)?;
    }
    for tree in &file.unlisted_in {
        if tree.path == "/" || !is_normal(&tree.path) || tree.path.contains('*') {
            return Err(format!(
                "unlisted_in `{}` is not a normalised absolute path",
                tree.path
            ));
        }
        has_reason(&tree.path, &tree.reason)?;
    }
    for socket in &file.sockets {
        let text = socket.name.as_str();
        if text.is_empty()
            || text.starts_with('*')
            || text.contains('/')
            || !glob_is_well_formed(text)
        {
            return Err(format!(
                "socket `{text}` is not one path component (a `*` may only end it)"
            ));
        }
        unique(&mut keys, text)?;
        has_reason(text, &socket.reason)?;
    }
    let mut types: Vec<&str> = Vec::new();
    for entry in &file.filesystems {
        let text = entry.fstype.as_str();
        if text.is_empty()
            || text.starts_with('*')
            || text.contains(['/', ' '])
            || !glob_is_well_formed(text)
        {
            return Err(format!(
                "filesystem type `{text}` is not one word (a `*` may only end it)"
            ));
        }
        unique(&mut types, text)?;
        has_reason(text, &entry.reason)?;
    }
    Ok(())
}

fn unique<'a>(keys: &mut Vec<&'a str>, key: &'a str) -> Result<(), String> {
    if keys.contains(&key) {
        return Err(format!("entry `{key}` is listed twice"));
    }
    keys.push(key);
    Ok(())
}

fn has_reason(key: &str, reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err(format!("entry `{key}` has no reason"));
    }
    Ok(())
}

fn is_normal(path: &str) -> bool {
    normalise_path(path).is_ok_and(|normal| normal == path)
}

/// A `*` may only end the last component, after at least one other character.
fn glob_is_well_formed(path: &str) -> bool {
    match path.find('*') {
        None => true,
        Some(at) => at == path.len() - 1 && !path[..at].ends_with('/') && !path[..at].contains('*'),
    }
}

/// A form as its fixed part and, for a pattern (`/tmp/krb5cc_*`), the prefix its last
/// component must start with: `("/tmp", Some("krb5cc_"))`; `(form, None)` otherwise.
fn split_pattern(form: &str) -> (&str, Option<&str>) {
    match form
        .strip_suffix('*')
        .and_then(|head| head.rsplit_once('/'))
    {
        Some(("", prefix)) => ("/", Some(prefix)),
        Some((directory, prefix)) => (directory, Some(prefix)),
        None => (form, None),
    }
}

/// How `path` relates to entry form `base` (normalised; its last component may end in `*`).
fn relate(path: &str, base: &str, covers: Covers) -> Option<Relation> {
    let (directory, prefix) = split_pattern(base);
    let Some(prefix) = prefix else {
        return if path == base {
            Some(Relation::Is)
        } else if let Some(rest) = below(path, base) {
            covers_rest(covers, &rest[1..]).then_some(Relation::Inside)
        } else if below(base, path).is_some() {
            Some(Relation::Contains)
        } else {
            None
        };
    };
    // A pattern: `directory/prefix*`. A path at or above `directory` may hold a match.
    if path == directory || below(directory, path).is_some() {
        return Some(Relation::Contains);
    }
    let rest = &below(path, directory)?[1..];
    let (first, more) = match rest.split_once('/') {
        Some((first, more)) => (first, Some(more)),
        None => (rest, None),
    };
    if !first.starts_with(prefix) {
        return None;
    }
    match more {
        None => Some(Relation::Is),
        Some(more) => covers_rest(covers, more).then_some(Relation::Inside),
    }
}

/// Whether an entry with `covers` covers the path `rest` (relative, non-empty) below it.
fn covers_rest(covers: Covers, rest: &str) -> bool {
    match covers {
        Covers::Tree => true,
        Covers::Children => !rest.contains('/'),
        Covers::Itself => false,
    }
}

/// The part of normalised `path` below normalised `base`, starting with `/`, if it lies
/// strictly inside it.
fn below<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    if path == base {
        return None;
    }
    if base == "/" {
        return Some(path);
    }
    path.strip_prefix(base).filter(|rest| rest.starts_with('/'))
}

/// The part of `path` below `base` (empty when they are equal), if it is at or below it.
fn at_or_below<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    if path == base {
        Some("")
    } else {
        below(path, base)
    }
}

/// A form resolved by the context's resolver, normalised; a pattern's directory is resolved
/// and its last component kept. `None` when it cannot be resolved or does not normalise.
fn resolve_form(resolve: PathResolver, form: &str) -> Option<String> {
    let (directory, prefix) = split_pattern(form);
    let resolved = resolve(Path::new(directory))?;
    let resolved = normalise_path(&resolved.to_string_lossy()).ok()?;
    Some(match prefix {
        None => resolved,
        Some(prefix) => join(&resolved, &format!("/{prefix}*")),
    })
}

/// A context home as normalised text, `None` when not given, or why it is unusable.
fn home_text(home: Option<&Path>) -> Result<Option<String>, String> {
    let Some(home) = home else { return Ok(None) };
    let text = home
        .to_str()
        .ok_or_else(|| format!("`{}` is not UTF-8", home.display()))?;
    normalise_path(text)
        .map(Some)
        .map_err(|_| format!("`{text}` is not an absolute path without `..`"))
}

/// `home` + `/rest`, where `rest` is empty or starts with `/`.
fn join(home: &str, rest: &str) -> String {
    if home == "/" && !rest.is_empty() {
        rest.to_string()
    } else {
        format!("{home}{rest}")
    }
}

#[cfg(test)]
mod tests;
