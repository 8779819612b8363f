//! Links the `zhibu` binary with packed relative relocations (DT_RELR) on Linux with glibc.
//!
//! A position-independent executable carries one relocation per pointer in its read-only data
//! (vtables, panic locations, string tables): 3.2 MB of `.rela.dyn` that the loader reads, and
//! so keeps resident, at every start. Packed, they take 49 KB, and the bot starts 2.7 MiB
//! smaller (docs/benchmarks.md). Needs GNU ld 2.38, lld 15 or mold 1.3, and glibc 2.36 to run;
//! an older GNU ld ignores the option with a warning. `ZHIBU_NO_PACKED_RELOCS=1` turns it off
//! (for a binary that must run on an older glibc).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ZHIBU_NO_PACKED_RELOCS");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && std::env::var_os("ZHIBU_NO_PACKED_RELOCS").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
