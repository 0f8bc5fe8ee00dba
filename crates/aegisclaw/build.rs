//! Links the unwinder statically (libgcc_eh) instead of loading libgcc_s.so.1 at start-up.

fn main() {
    println!("cargo:rustc-link-lib=static=gcc_eh");
}
