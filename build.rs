//! Links release builds of the `zhibu` binary with packed relative relocations (DT_RELR) on
//! Linux with glibc 2.36 or later.
//!
//! A position-independent executable carries one relocation per pointer in its read-only data
//! (vtables, panic locations, string tables): 3.1 MB of `.rela.dyn` that the loader reads, and
//! so keeps resident, at every start. Packed, they take a few kilobytes, and the bot starts
//! 3.5 MiB smaller (docs/benchmarks.md): without them it would idle above 20 MiB.
//!
//! A binary linked so needs glibc 2.36 to run, so the flag is only given when the glibc of the
//! machine that builds is that new (Ubuntu 22.04 has 2.35: it builds without). Debug builds
//! never get it. An older GNU ld ignores the option with a warning. `ZHIBU_NO_PACKED_RELOCS=1`
//! turns it off, for a binary that must run on an older system than the one it is built on.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ZHIBU_NO_PACKED_RELOCS");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    if os == "linux" && env == "gnu" && release && native && std::env::var_os("ZHIBU_NO_PACKED_RELOCS").is_none() && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this machine's glibc is at least `major.minor` (`getconf GNU_LIBC_VERSION` says
/// `glibc 2.36`).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else { return false };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else { return false };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}
