//! The running `aegisclaw`'s directory in rating, and the table listed as paths for a caller
//! that compares host objects with it (`scope::sensitive_objects`).

use aegisclaw_core::scope::{Risk, Scope, ScopeContext, ScopeKind};
use pretty_assertions::assert_eq;
use std::path::Path;

use Risk::{Critical, Low, Medium};

/// The running `aegisclaw` in these contexts: a checkout's build, as a developer runs it.
const PROGRAM: &str = "/data/checkout/target/release/aegisclaw";

#[derive(Clone, Copy, Debug)]
enum Who {
    Alice,
    Root,
}

use Who::{Alice, Root};

fn context(who: Who) -> ScopeContext {
    let home = match who {
        Alice => "/home/alice",
        Root => "/root",
    };
    ScopeContext {
        user_home: Some(home.into()),
        aegisclaw_home: Some(format!("{home}/.aegisclaw").into()),
        program: Some(PROGRAM.into()),
        resolve: None,
        homes: Vec::new(),
    }
}

#[test]
fn a_write_to_the_running_binarys_directory_is_critical_as_the_home_is() {
    for who in [Alice, Root] {
        let context = context(who);
        let rated = |text: &str| Scope::parse(text, &context).unwrap().rating(&context);
        let directory = rated("files.write:/data/checkout/target/release");
        assert_eq!(directory.risk, Critical);
        assert_eq!(
            directory.reasons[0],
            "sensitive path the directory of the running `aegisclaw` `/data/checkout/target/release`: \
             a write replaces the `aegisclaw` program (or what lies beside it) that the user runs \
             next, outside any sandbox"
        );
        // The binary, and every ancestor whose write covers it.
        for text in [
            "files.write:/data/checkout/target/release/aegisclaw",
            "files.write:/data/checkout/target",
            "files.write:/data/checkout",
            "files.write:/data",
        ] {
            assert_eq!(rated(text).risk, Critical, "{who:?} {text}");
        }
        // Reading it gives nothing; a directory below it cannot replace the binary.
        assert_eq!(rated("files.read:/data/checkout/target/release").risk, Low);
        assert_eq!(
            rated("files.write:/data/checkout/target/release/build/out").risk,
            Medium
        );
        assert_eq!(rated("files.write:/data/checkout/src").risk, Medium);
    }
    // Without a known program (a test, `scope explain` in a library), nothing is added.
    let unknown = ScopeContext {
        program: None,
        ..context(Alice)
    };
    let scope = Scope::parse("files.write:/data/checkout/target/release", &unknown).unwrap();
    assert_eq!(scope.rating(&unknown).risk, Medium);
}

#[test]
fn sensitive_objects_are_the_table_for_the_context_and_each_home() {
    let objects = aegisclaw_core::scope::sensitive_objects(
        &context(Alice),
        &["/home/bob".into(), "/root".into()],
    )
    .unwrap();
    let paths: Vec<&Path> = objects.iter().map(|object| object.path()).collect();
    for expected in [
        "/etc",
        "/home/alice",
        "/home/alice/.aegisclaw",
        "/home/alice/.ssh",
        "/home/bob/.ssh",
        "/root/.netrc",
        "/root/bin",
        "/data/checkout/target/release",
        PROGRAM,
    ] {
        assert!(paths.contains(&Path::new(expected)), "{expected}");
    }
    // Patterns are no object; each path once.
    assert!(
        paths
            .iter()
            .all(|path| !path.to_string_lossy().contains('*'))
    );
    let mut unique = paths.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), paths.len());
    let object = |path: &str| {
        objects
            .iter()
            .find(|object| object.path() == Path::new(path))
            .unwrap()
    };
    // What a file with another name inside each could be.
    assert!(object("/etc").holds_sensitive_files(ScopeKind::FilesRead));
    assert!(object("/home/bob/.ssh").holds_sensitive_files(ScopeKind::FilesRead));
    assert!(!object("/usr").holds_sensitive_files(ScopeKind::FilesRead));
    assert!(object("/usr").holds_sensitive_files(ScopeKind::FilesWrite));
    assert!(!object("/tmp").holds_sensitive_files(ScopeKind::FilesWrite));
    assert!(!object(PROGRAM).holds_sensitive_files(ScopeKind::FilesWrite));
}
