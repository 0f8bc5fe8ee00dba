//! Which runtime runs a skill (DESIGN §8, §10): the configured `sandbox.runtime` resolved
//! against the adapters this build has. `auto` takes the first of the fallback chain with an
//! adapter; any other runtime without one is refused, never downgraded to native in silence.
//! Pure: it does not probe the host (a layer the chosen runtime lacks fails at launch).
//! Also says which scope kinds no runtime here enforces, and which manifest platforms each
//! adapter can honour, so both are refused, not ignored.

use aegisclaw_core::config::RuntimeKind;
use aegisclaw_core::scope::{Scope, ScopeKind};
use aegisclaw_core::skill::manifest::Platform;
use serde::Serialize;

/// The runtimes this build can run skills on. Only the native sandbox exists so far; each new
/// adapter adds its kind here (and `run::execute` its launcher).
pub const ADAPTERS: &[RuntimeKind] = &[RuntimeKind::Native];

/// DESIGN §8's fallback chain, strongest isolation first: what `auto` walks.
pub const FALLBACK_CHAIN: [RuntimeKind; 5] = [
    RuntimeKind::Firecracker,
    RuntimeKind::Kata,
    RuntimeKind::Gvisor,
    RuntimeKind::Docker,
    RuntimeKind::Native,
];

/// A configured runtime that cannot run anything here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The config names a runtime this build has no adapter for.
    #[error(
        "`sandbox.runtime: {configured}` is configured, but AegisClaw has no `{configured}` adapter yet: \
         refusing rather than running with less isolation than the config asks for (set \
         `sandbox.runtime` to `native` or `auto` in config.yaml)"
    )]
    NoAdapter {
        /// The configured runtime.
        configured: RuntimeKind,
    },
    /// `auto` found no adapter at all on the chain (a build without even native).
    #[error("`sandbox.runtime: auto` found no runtime adapter in this build")]
    NoneAvailable,
}

/// The runtime a run will use, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RuntimeChoice {
    /// What `sandbox.runtime` says.
    pub configured: RuntimeKind,
    /// What will run the skill (never `auto`).
    pub selected: RuntimeKind,
    /// Why: `configured`, or `auto: strongest with an adapter`.
    pub why: &'static str,
}

/// Resolves `configured` against `adapters` (production passes [`ADAPTERS`]).
pub fn select(
    configured: RuntimeKind,
    adapters: &[RuntimeKind],
) -> Result<RuntimeChoice, RuntimeError> {
    if configured == RuntimeKind::Auto {
        return FALLBACK_CHAIN
            .into_iter()
            .find(|kind| adapters.contains(kind))
            .map(|selected| RuntimeChoice {
                configured,
                selected,
                why: "auto: the strongest runtime of the fallback chain with an adapter",
            })
            .ok_or(RuntimeError::NoneAvailable);
    }
    if adapters.contains(&configured) {
        Ok(RuntimeChoice {
            configured,
            selected: configured,
            why: "configured",
        })
    } else {
        Err(RuntimeError::NoAdapter { configured })
    }
}

/// The manifest platforms each adapter can honour. The native sandbox runs a host program; it
/// cannot run a container image or a compose file, and must not pretend to by running the
/// entrypoint natively.
pub const PLATFORMS: &[(RuntimeKind, &[Platform])] = &[(RuntimeKind::Native, &[Platform::Native])];

/// A skill's platform that the selected runtime cannot honour.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the skill's manifest says `platform: {platform}`, which the `{runtime}` runtime cannot run: \
     refusing rather than running it as a native program (no `{platform}` runtime adapter exists \
     yet)",
    platform = platform.as_str()
)]
pub struct PlatformError {
    /// What the manifest asks for.
    pub platform: Platform,
    /// The runtime that was selected.
    pub runtime: RuntimeKind,
}

/// `Ok` if `runtime` (the selected one, never `auto`) honours `platform` according to `table`
/// (production passes [`PLATFORMS`]).
pub fn check_platform(
    platform: Platform,
    runtime: RuntimeKind,
    table: &[(RuntimeKind, &[Platform])],
) -> Result<(), PlatformError> {
    let honoured = table
        .iter()
        .any(|(kind, platforms)| *kind == runtime && platforms.contains(&platform));
    if honoured {
        Ok(())
    } else {
        Err(PlatformError { platform, runtime })
    }
}

/// A scope that parses but that no runtime of this build enforces: accepting it would grant
/// nothing while the records say it was granted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnenforcedScope {
    /// `net.internal` names a service on a compose skill's private network (DESIGN §3).
    #[error(
        "scope `{scope}` is refused: `net.internal` reaches a service on a compose skill's \
         private network, and compose skills are not supported yet"
    )]
    NetInternal {
        /// The scope as normalised.
        scope: String,
    },
}

/// `Ok` if the runtimes here enforce `scope`'s kind.
pub fn check_enforced(scope: &Scope) -> Result<(), UnenforcedScope> {
    match scope.kind() {
        ScopeKind::NetInternal => Err(UnenforcedScope::NetInternal {
            scope: scope.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_and_auto_select_native_in_this_build() {
        assert_eq!(
            select(RuntimeKind::Native, ADAPTERS),
            Ok(RuntimeChoice {
                configured: RuntimeKind::Native,
                selected: RuntimeKind::Native,
                why: "configured",
            })
        );
        assert_eq!(
            select(RuntimeKind::Auto, ADAPTERS),
            Ok(RuntimeChoice {
                configured: RuntimeKind::Auto,
                selected: RuntimeKind::Native,
                why: "auto: the strongest runtime of the fallback chain with an adapter",
            })
        );
    }

    #[test]
    fn a_runtime_without_an_adapter_is_refused_not_downgraded() {
        for configured in [
            RuntimeKind::Docker,
            RuntimeKind::Gvisor,
            RuntimeKind::Kata,
            RuntimeKind::Firecracker,
        ] {
            assert_eq!(
                select(configured, ADAPTERS),
                Err(RuntimeError::NoAdapter { configured })
            );
        }
        assert_eq!(
            select(RuntimeKind::Docker, ADAPTERS)
                .unwrap_err()
                .to_string(),
            "`sandbox.runtime: docker` is configured, but AegisClaw has no `docker` adapter yet: \
             refusing rather than running with less isolation than the config asks for (set \
             `sandbox.runtime` to `native` or `auto` in config.yaml)"
        );
    }

    #[test]
    fn net_internal_is_refused_and_other_kinds_pass() {
        let context = aegisclaw_core::scope::ScopeContext::default();
        let parse = |text: &str| Scope::parse(text, &context).unwrap();
        assert_eq!(
            check_enforced(&parse("net.internal:redis")),
            Err(UnenforcedScope::NetInternal {
                scope: "net.internal:redis".to_string()
            })
        );
        assert_eq!(
            check_enforced(&parse("net.internal:redis"))
                .unwrap_err()
                .to_string(),
            "scope `net.internal:redis` is refused: `net.internal` reaches a service on a compose \
             skill's private network, and compose skills are not supported yet"
        );
        for text in [
            "files.read:/tmp",
            "files.write:/tmp",
            "net.outbound:example.com",
            "secrets.read:API_KEY",
        ] {
            assert_eq!(check_enforced(&parse(text)), Ok(()), "{text}");
        }
    }

    #[test]
    fn a_container_platform_is_refused_by_the_native_runtime_not_run_natively() {
        assert_eq!(
            check_platform(Platform::Native, RuntimeKind::Native, PLATFORMS),
            Ok(())
        );
        for platform in [Platform::Docker, Platform::DockerCompose] {
            assert_eq!(
                check_platform(platform, RuntimeKind::Native, PLATFORMS),
                Err(PlatformError {
                    platform,
                    runtime: RuntimeKind::Native
                })
            );
        }
        assert_eq!(
            check_platform(Platform::DockerCompose, RuntimeKind::Native, PLATFORMS)
                .unwrap_err()
                .to_string(),
            "the skill's manifest says `platform: docker-compose`, which the `native` runtime cannot \
             run: refusing rather than running it as a native program (no `docker-compose` runtime \
             adapter exists yet)"
        );
        // Every adapter says what it honours.
        for adapter in ADAPTERS {
            assert!(
                PLATFORMS.iter().any(|(kind, _)| kind == adapter),
                "{adapter}"
            );
        }
    }

    #[test]
    fn auto_walks_the_fallback_chain_strongest_first() {
        let adapters = [RuntimeKind::Native, RuntimeKind::Docker, RuntimeKind::Kata];
        assert_eq!(
            select(RuntimeKind::Auto, &adapters).map(|choice| choice.selected),
            Ok(RuntimeKind::Kata)
        );
        assert_eq!(
            select(RuntimeKind::Docker, &adapters).map(|choice| choice.selected),
            Ok(RuntimeKind::Docker)
        );
        assert_eq!(
            select(RuntimeKind::Auto, &[]),
            Err(RuntimeError::NoneAvailable)
        );
    }
}
