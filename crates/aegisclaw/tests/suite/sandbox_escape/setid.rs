//! Escapes through host set-user-ID and set-group-ID programs a scope names: `write(2)` clears
//! those bits, a store through a shared mapping does not, so a run allowed to write such a
//! file could change what it does while it stays set-id.

use super::*;
use std::os::unix::fs::PermissionsExt as _;

/// Python that maps `path` shared and writable and overwrites its first bytes.
fn mmap_write(path: &std::path::Path) -> String {
    python(&format!(
        "import mmap, os\ntry:\n    fd = os.open(\"{p}\", os.O_RDWR)\n    m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)\n    m[0:5] = b\"PWNED\"\n    m.flush()\n    print(\"WROTE\", oct(os.stat(\"{p}\").st_mode))\nexcept OSError as e:\n    print(\"REFUSED\", e.errno)",
        p = path.display()
    ))
}

#[test]
fn a_scope_naming_a_set_id_program_is_refused_before_anything_runs() {
    let escape = Escape::new();
    let work = std::fs::canonicalize(&escape.work).unwrap();
    for (name, mode) in [("setuid-tool", 0o4755), ("setgid-tool", 0o2755)] {
        let program = work.join(name);
        std::fs::write(&program, "#!/bin/sh\necho harmless\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(mode)).unwrap();
        for kind in ["files.write", "files.read"] {
            let scope = format!("{kind}:{}", program.display());
            let outcome = escape.run(&[scope.as_str()], &mmap_write(&program));
            assert!(!outcome.stdout().contains("WROTE"), "{}", outcome.stdout());
            assert_eq!(
                std::fs::read_to_string(&program).unwrap(),
                "#!/bin/sh\necho harmless\n"
            );
            assert_eq!(
                std::fs::metadata(&program).unwrap().permissions().mode() & 0o7777,
                mode
            );
            assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
            assert!(!outcome.has("run.launch"));
            let refused = outcome.record("run.refused");
            assert_eq!(refused["data"]["stage"], "scope");
            assert_eq!(
                refused["reason"],
                format!(
                    "scope `{scope}`: `{p}` is a set-user-ID or set-group-ID program, which no `files.*` scope may name (a store through a shared mapping would keep its bit)",
                    p = program.display()
                ),
                "{refused}"
            );
        }
    }
}
