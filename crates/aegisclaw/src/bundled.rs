//! The starter skills shipped inside the binary, signed with the project's key (whose public
//! half is built-in trust): written out, verified and installed like any other skill.

use aegisclaw_core::home;
use aegisclaw_core::skill::registry::{self, SkillStatus};
use aegisclaw_engine::Context;
use serde_json::json;
use std::os::unix::fs::DirBuilderExt as _;

/// One bundled skill: its name and files (path, content).
pub(crate) struct BundledSkill {
    pub(crate) name: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// Every bundled skill.
pub(crate) const SKILLS: &[BundledSkill] = &[BundledSkill {
    name: "file-organiser",
    files: &[
        (
            "manifest.yaml",
            include_str!("../../../skills/file-organiser/manifest.yaml"),
        ),
        (
            "organise.py",
            include_str!("../../../skills/file-organiser/organise.py"),
        ),
    ],
}];

/// What happened to one bundled skill.
pub(crate) enum Installed {
    /// It was already installed and verifies.
    AlreadyPresent,
    /// It was (re)installed now.
    Now,
}

/// Installs `skill` unless an installed copy already verifies. The copy is verified against
/// the trust store (with the built-in project key) before it is installed.
pub(crate) fn install(context: &mut Context, skill: &BundledSkill) -> anyhow::Result<Installed> {
    let trust = context.trust()?;
    if let Ok(existing) = registry::show(context.home(), &trust, skill.name)
        && existing.status == SkillStatus::Verified
        && existing.publisher.is_some()
        && trust
            .keys()
            .any(|(id, _, _)| Some(id) == existing.publisher.as_deref())
    {
        let bundled_manifest = skill
            .files
            .iter()
            .find(|(path, _)| *path == "manifest.yaml");
        let installed_manifest = home::read_file_text(
            &context
                .home()
                .skills_dir()
                .join(skill.name)
                .join("manifest.yaml"),
            home::FileKind::Manifest,
            home::Follow::No,
        )?;
        if bundled_manifest.is_some_and(|(_, text)| *text == installed_manifest) {
            return Ok(Installed::AlreadyPresent);
        }
    }
    // Write the bundle into a private directory of its own, then install from there.
    let staging =
        context
            .home()
            .skills_dir()
            .join(format!(".bundle-{}-{}", skill.name, std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|error| anyhow::anyhow!("cannot create `{}`: {error}", staging.display()))?;
    let result = (|| -> anyhow::Result<()> {
        for (path, text) in skill.files {
            home::atomic_write(&staging.join(path), text.as_bytes())?;
        }
        context.record(
            context
                .event("skill.install")
                .skill(skill.name)
                .decision("installing")
                .data(json!({"bundled": true})),
        )?;
        registry::install(&staging, context.home(), &trust, true)?;
        Ok(())
    })();
    let _ = fs_err::remove_dir_all(&staging);
    result?;
    Ok(Installed::Now)
}
