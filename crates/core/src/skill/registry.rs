//! Skills installed in the home (`skills/<name>/`): installing a verified skill atomically,
//! listing and showing installed skills with their verification status. Does not run skills.

use crate::home::{self, Home, HomeError};
use crate::skill::manifest::{MANIFEST_FILE, Manifest, Platform, is_valid_name};
use crate::skill::sign::{self, VerifyError};
use crate::trust::TrustStore;
use fs_err as fs;
use fs_err::os::unix::fs::OpenOptionsExt as _;
use serde::Serialize;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Errors from installing or looking up skills. Each names the skill or its path.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The skill failed verification (before or after copying).
    #[error("skill `{path}` failed verification")]
    Verify {
        /// The directory that was verified.
        path: PathBuf,
        /// Why it failed.
        source: VerifyError,
    },
    /// A skill of that name is installed and `force` was not given.
    #[error("skill `{name}` is already installed at `{path}`")]
    AlreadyInstalled {
        /// The skill name.
        name: String,
        /// Its directory.
        path: PathBuf,
    },
    /// Text that is not a valid skill name (so never a path).
    #[error("`{name}` is not a valid skill name")]
    InvalidName {
        /// The offending text.
        name: String,
    },
    /// No skill of that name is installed.
    #[error("skill `{name}` is not installed")]
    NotInstalled {
        /// The skill name.
        name: String,
    },
    /// Reading or writing the skills directory failed.
    #[error("cannot update skills in `{path}`")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// Copying a skill's files failed.
    #[error(transparent)]
    File(#[from] sign::SkillFileError),
}

/// Verification state of an installed skill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SkillStatus {
    /// Signed by a trusted key; every file matches.
    Verified,
    /// Anything else, with the error text.
    Failed {
        /// Why verification failed.
        error: String,
    },
}

/// An installed skill as `skill list` and `skill show` report it. Fields the manifest could not
/// supply are empty.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstalledSkill {
    /// The directory name under `skills/` (equal to the manifest's name when valid).
    pub name: String,
    /// Manifest `version`.
    pub version: String,
    /// Manifest `description`.
    pub description: String,
    /// Manifest `publisher`.
    pub publisher: Option<String>,
    /// Manifest `platform`.
    pub platform: Option<Platform>,
    /// Declared scopes.
    pub scopes: Vec<String>,
    /// The skill directory.
    pub path: PathBuf,
    /// Whether it verifies.
    #[serde(flatten)]
    pub status: SkillStatus,
}

impl InstalledSkill {
    fn from_manifest(name: &str, path: &Path, manifest: Option<&Manifest>) -> Self {
        Self {
            name: name.to_string(),
            version: manifest.map(|m| m.version.clone()).unwrap_or_default(),
            description: manifest.map(|m| m.description.clone()).unwrap_or_default(),
            publisher: manifest.and_then(|m| m.publisher.clone()),
            platform: manifest.map(|m| m.platform),
            scopes: manifest.map(|m| m.scopes.clone()).unwrap_or_default(),
            path: path.to_path_buf(),
            status: SkillStatus::Verified,
        }
    }

    fn failed(name: &str, path: &Path, manifest: Option<&Manifest>, error: String) -> Self {
        Self {
            status: SkillStatus::Failed { error },
            ..Self::from_manifest(name, path, manifest)
        }
    }
}

/// Verifies the skill in `source_dir` and installs it as `skills/<name>/` of `home`: the copy
/// is built in a temp dir under `skills/`, verified again, fsynced and renamed into place.
/// An installed skill of that name is replaced only with `force`.
pub fn install(
    source_dir: &Path,
    home: &Home,
    trust: &TrustStore,
    force: bool,
) -> Result<InstalledSkill, RegistryError> {
    stage(source_dir, home, trust, force)?.commit()
}

/// A verified copy of a skill staged next to its place by [`stage`]: nothing is installed
/// until [`commit`](Self::commit) renames it into place, so the caller can record the install
/// durably first. Dropping it removes the copy.
#[derive(Debug)]
pub struct StagedInstall {
    temp: PathBuf,
    target: PathBuf,
    skills: PathBuf,
    force: bool,
    installed: InstalledSkill,
    committed: bool,
}

impl StagedInstall {
    /// The skill as it will be installed.
    pub fn skill(&self) -> &InstalledSkill {
        &self.installed
    }

    /// Moves the verified copy into place (replacing an installed one only with `force`).
    pub fn commit(mut self) -> Result<InstalledSkill, RegistryError> {
        replace_dir(&self.temp, &self.target, self.force, &self.installed.name)?;
        sync_dir(&self.skills)?;
        self.committed = true;
        Ok(self.installed.clone())
    }
}

impl Drop for StagedInstall {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

/// Everything [`install`] does but the final rename: verifies the source, copies it into a
/// temp dir under `skills/`, and verifies the copy.
pub fn stage(
    source_dir: &Path,
    home: &Home,
    trust: &TrustStore,
    force: bool,
) -> Result<StagedInstall, RegistryError> {
    // 1. Verify the source, to fail fast and learn the name.
    let verified = sign::verify_dir(source_dir, trust).map_err(|source| RegistryError::Verify {
        path: source_dir.to_path_buf(),
        source,
    })?;
    let name = verified.manifest.name;
    let skills = home.skills_dir();
    let target = skills.join(&name);
    if !force && fs::symlink_metadata(&target).is_ok() {
        return Err(RegistryError::AlreadyInstalled { name, path: target });
    }
    home::create_private_dir(&skills).map_err(|error| home_error(&skills, error))?;
    // 2. Copy into a temp dir and verify the copy: that closes the window in which the source
    //    could change between the first check and the copy.
    let temp = skills.join(format!(".{name}.{}.tmp", random_suffix()));
    let result = copy_skill(source_dir, &temp)
        .and_then(|()| {
            sign::verify_dir(&temp, trust).map_err(|source| RegistryError::Verify {
                path: source_dir.to_path_buf(),
                source,
            })
        })
        .and_then(|copied| {
            if copied.manifest.name == name {
                Ok(copied)
            } else {
                Err(RegistryError::InvalidName {
                    name: copied.manifest.name,
                })
            }
        });
    // The copy is ready; `commit` moves it into place.
    match result {
        Ok(copied) => Ok(StagedInstall {
            installed: InstalledSkill::from_manifest(&name, &target, Some(&copied.manifest)),
            temp,
            target,
            skills,
            force,
            committed: false,
        }),
        Err(error) => {
            let _ = fs::remove_dir_all(&temp);
            Err(error)
        }
    }
}

/// Every installed skill, sorted by name. A broken skill is listed with its error; it never
/// hides or aborts the listing. Temp dirs of unfinished installs (`.name…`) are skipped.
pub fn list(home: &Home, trust: &TrustStore) -> Result<Vec<InstalledSkill>, RegistryError> {
    let skills = home.skills_dir();
    let entries = match fs::read_dir(&skills) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io_error(&skills, source)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| io_error(&skills, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        found.push(inspect(&name, &entry.path(), trust));
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// One installed skill by name, with its verification status.
pub fn show(home: &Home, trust: &TrustStore, name: &str) -> Result<InstalledSkill, RegistryError> {
    if !is_valid_name(name) {
        return Err(RegistryError::InvalidName {
            name: name.to_string(),
        });
    }
    let path = home.skills_dir().join(name);
    if fs::symlink_metadata(&path).is_err() {
        return Err(RegistryError::NotInstalled {
            name: name.to_string(),
        });
    }
    Ok(inspect(name, &path, trust))
}

/// Verifies one entry of `skills/`, turning every failure into a `Failed` status.
fn inspect(name: &str, path: &Path, trust: &TrustStore) -> InstalledSkill {
    let kind = fs::symlink_metadata(path).map(|meta| meta.file_type());
    match kind {
        Ok(kind) if kind.is_dir() => {}
        Ok(_) => {
            let error = format!("`{}` is not a directory", path.display());
            return InstalledSkill::failed(name, path, None, error);
        }
        Err(error) => return InstalledSkill::failed(name, path, None, error.to_string()),
    }
    match sign::verify_dir(path, trust) {
        Ok(verified) if verified.manifest.name == name => {
            InstalledSkill::from_manifest(name, path, Some(&verified.manifest))
        }
        Ok(verified) => {
            let error = format!(
                "directory `{}` holds skill `{}`",
                path.display(),
                verified.manifest.name
            );
            InstalledSkill::failed(name, path, Some(&verified.manifest), error)
        }
        Err(error) => {
            let manifest = Manifest::load(&path.join(MANIFEST_FILE)).ok();
            InstalledSkill::failed(name, path, manifest.as_ref(), error.to_string())
        }
    }
}

/// Copies the manifest and every file of `source` into the new directory `dest`: dirs 0700,
/// files 0600, or 0700 where the source file was executable; each file fsynced.
fn copy_skill(source: &Path, dest: &Path) -> Result<(), RegistryError> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dest)
        .map_err(|error| io_error(dest, error))?;
    let mut files = sign::skill_files(source)?;
    files.push((MANIFEST_FILE.to_string(), source.join(MANIFEST_FILE)));
    let mut dirs = vec![dest.to_path_buf()];
    for (relative, from) in files {
        let to = dest.join(&relative);
        if let Some(parent) = to.parent()
            && !parent.is_dir()
        {
            home::create_private_dir(parent).map_err(|error| home_error(parent, error))?;
            dirs.push(parent.to_path_buf());
        }
        let executable = fs::metadata(&from)
            .map_err(|error| io_error(&from, error))?
            .permissions()
            .mode()
            & 0o111
            != 0;
        let mut input = fs::File::open(&from).map_err(|error| io_error(&from, error))?;
        let mut output = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o700 } else { 0o600 })
            .open(&to)
            .map_err(|error| io_error(&to, error))?;
        std::io::copy(&mut input, &mut output).map_err(|error| io_error(&to, error))?;
        output.sync_all().map_err(|error| io_error(&to, error))?;
    }
    for dir in dirs {
        sync_dir(&dir)?;
    }
    Ok(())
}

/// Renames `temp` to `target`. With `force`, an existing target is first renamed aside, so a
/// reader sees the old skill, briefly none, or the new one, never a half-written mix.
fn replace_dir(temp: &Path, target: &Path, force: bool, name: &str) -> Result<(), RegistryError> {
    if fs::symlink_metadata(target).is_err() {
        return fs::rename(temp, target).map_err(|error| io_error(target, error));
    }
    if !force {
        return Err(RegistryError::AlreadyInstalled {
            name: name.to_string(),
            path: target.to_path_buf(),
        });
    }
    let parent = target.parent().unwrap_or_else(|| Path::new("."));
    let old = parent.join(format!(".{name}.{}.old", random_suffix()));
    fs::rename(target, &old).map_err(|error| io_error(target, error))?;
    if let Err(error) = fs::rename(temp, target) {
        // Put the old skill back rather than leave none installed.
        let _ = fs::rename(&old, target);
        return Err(io_error(target, error));
    }
    let kind = fs::symlink_metadata(&old).map(|meta| meta.file_type());
    let removed = match kind {
        Ok(kind) if kind.is_dir() => fs::remove_dir_all(&old),
        _ => fs::remove_file(&old),
    };
    removed.map_err(|error| io_error(&old, error))
}

fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(|error| io_error(dir, error))
}

fn random_suffix() -> String {
    let mut suffix = [0u8; 6];
    // A clash only makes `create`/`rename` fail, which is reported, never a silent overwrite.
    let _ = getrandom::fill(&mut suffix);
    hex::encode(suffix)
}

fn io_error(path: &Path, source: std::io::Error) -> RegistryError {
    RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn home_error(path: &Path, error: HomeError) -> RegistryError {
    match error {
        HomeError::Io(source) => io_error(path, source),
        other => io_error(path, std::io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SigningKey;
    use pretty_assertions::assert_eq;

    fn signed_skill(root: &Path, name: &str, description: &str, key: &SigningKey) -> PathBuf {
        let dir = root.join(format!("src-{name}"));
        fs::create_dir_all(dir.join("bin")).unwrap();
        let manifest = format!(
            "name: {name}\nversion: 1.2.3\ndescription: {description}\nentrypoint: [bin/run]\n"
        );
        fs::write(dir.join(MANIFEST_FILE), manifest).unwrap();
        fs::write(dir.join("bin/run"), "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(dir.join("bin/run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("data.txt"), "data").unwrap();
        sign::sign_dir(&dir, key).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn install_copies_privately_refuses_overwrite_and_replaces_with_force() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        let key = SigningKey::from_seed([8; 32]);
        let trust = TrustStore::empty().with_builtin([key.public()]);
        let source = signed_skill(temp.path(), "hello", "first", &key);
        let installed = install(&source, &home, &trust, false).unwrap();
        assert_eq!(installed.status, SkillStatus::Verified);
        assert_eq!(installed.description, "first");
        let dir = home.skills_dir().join("hello");
        assert_eq!((mode(&dir), mode(&dir.join("bin"))), (0o700, 0o700));
        assert_eq!(mode(&dir.join("bin/run")), 0o700);
        assert_eq!(mode(&dir.join("data.txt")), 0o600);
        assert_eq!(mode(&dir.join(MANIFEST_FILE)), 0o600);
        assert!(matches!(
            install(&source, &home, &trust, false),
            Err(RegistryError::AlreadyInstalled { .. })
        ));
        let newer = signed_skill(&temp.path().join("b"), "hello", "second", &key);
        assert_eq!(
            install(&newer, &home, &trust, true).unwrap().description,
            "second"
        );
        let names: Vec<_> = fs::read_dir(home.skills_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["hello"], "no temp or old dirs are left behind");
        assert_eq!(show(&home, &trust, "hello").unwrap().description, "second");
    }

    #[test]
    fn install_refuses_an_unverified_skill_and_leaves_nothing() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        let key = SigningKey::from_seed([8; 32]);
        let source = signed_skill(temp.path(), "hello", "first", &key);
        let error = install(&source, &home, &TrustStore::empty(), false).unwrap_err();
        assert!(matches!(
            error,
            RegistryError::Verify {
                source: VerifyError::Untrusted { .. },
                ..
            }
        ));
        assert_eq!(fs::read_dir(home.skills_dir()).unwrap().count(), 0);
    }

    #[test]
    fn list_shows_broken_skills_with_their_error() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        let key = SigningKey::from_seed([8; 32]);
        let trust = TrustStore::empty().with_builtin([key.public()]);
        for name in ["alpha", "beta"] {
            let source = signed_skill(temp.path(), name, name, &key);
            install(&source, &home, &trust, false).unwrap();
        }
        fs::write(home.skills_dir().join("beta/data.txt"), "tampered").unwrap();
        fs::create_dir(home.skills_dir().join("gamma")).unwrap();
        let listed = list(&home, &trust).unwrap();
        let summary: Vec<_> = listed
            .iter()
            .map(|skill| (skill.name.as_str(), skill.version.as_str(), &skill.status))
            .collect();
        assert_eq!(summary[0], ("alpha", "1.2.3", &SkillStatus::Verified));
        assert_eq!((summary[1].0, summary[1].1), ("beta", "1.2.3"));
        assert!(
            matches!(summary[1].2, SkillStatus::Failed { error } if error.contains("data.txt"))
        );
        assert_eq!((summary[2].0, summary[2].1), ("gamma", ""));
        assert!(
            matches!(summary[2].2, SkillStatus::Failed { error } if error.contains("manifest.yaml"))
        );
        let json = serde_json::to_value(&listed[0]).unwrap();
        assert_eq!(json["status"], "verified");
        assert!(matches!(
            show(&home, &trust, "../etc"),
            Err(RegistryError::InvalidName { .. })
        ));
        assert!(matches!(
            show(&home, &trust, "delta"),
            Err(RegistryError::NotInstalled { .. })
        ));
    }
}
