//! The fast path's tc programs (`bpf/datapath.bpf.c`) as a BPF object for `src/bpf.rs`.
//!
//! * With clang, the object is compiled (reproducibly: no build paths in it, so the same
//!   source and clang give the same bytes anywhere).
//! * Without clang, the committed `bpf/datapath.bpf.o` is used, if `bpf/datapath.bpf.o.stamp`
//!   says it was built from the source as it is now (the FNV-1a hash of the source).
//! * Otherwise (no clang and an edited source) the crate builds without the programs:
//!   `ubond_sys::bpf::FastPath::load` then says why, and the daemon keeps its userspace data
//!   path. Such a build watches the directories of `PATH`, so that installing clang makes cargo
//!   run this script again (a plain `cargo build` then has the fast path).
//!
//! With clang, the compiled object is compared with the committed one: a difference is a
//! warning (an error with `UBOND_BPF_CHECK=1`, as in CI), and `UBOND_BPF_UPDATE=1` writes the
//! new object and stamp into `bpf/`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = "bpf/datapath.bpf.c";
const COMMITTED: &str = "bpf/datapath.bpf.o";
const STAMP: &str = "bpf/datapath.bpf.o.stamp";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ubond_bpf)");
    for f in [SOURCE, COMMITTED, STAMP] {
        println!("cargo::rerun-if-changed={f}");
    }
    for v in ["UBOND_CLANG", "UBOND_BPF_CHECK", "UBOND_BPF_UPDATE"] {
        println!("cargo::rerun-if-env-changed={v}");
    }
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo::warning=OUT_DIR is not set; building without the BPF fast path");
        return;
    };
    let obj = out.join("datapath.bpf.o");
    let source = std::fs::read(SOURCE).unwrap_or_default();
    let source_hash = format!("{:016x}", fnv1a64(&source));
    let clang = env::var("UBOND_CLANG").unwrap_or_else(|_| "clang".to_string());
    let why = match compile(&clang, &obj) {
        Ok(version) => {
            println!("cargo::rustc-cfg=ubond_bpf");
            check_committed(&obj, &source_hash, &version);
            return;
        }
        Err(why) => why,
    };
    // No usable clang: the committed object, if it is the source's.
    match committed_is_current(&source_hash) {
        Ok(()) => {
            if std::fs::copy(COMMITTED, &obj).is_ok() {
                println!("cargo::rustc-cfg=ubond_bpf");
                return;
            }
            println!("cargo::warning=building without the BPF fast path: cannot copy {COMMITTED}");
        }
        Err(stale) => println!(
            "cargo::warning=building without the BPF fast path: {why}, and {stale}; install \
             clang (apt-get install clang) and build again"
        ),
    }
    watch_path();
}

/// Compiles the programs into `obj`; the clang version on success.
fn compile(clang: &str, obj: &Path) -> Result<String, String> {
    let version = Command::new(clang)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {clang} ({e})"))?;
    let version =
        String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or("").trim().to_string();
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    // linux/types.h includes asm/types.h, which Debian keeps in the multiarch directory.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "x86" => "i386-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "powerpc64" => "powerpc64le-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        _ => "",
    };
    let mut cmd = Command::new(clang);
    cmd.current_dir(&manifest);
    cmd.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"]);
    // Reproducible: the checkout's path never enters the object's debug information.
    cmd.arg(format!("-fdebug-prefix-map={manifest}=."));
    if !multiarch.is_empty() {
        cmd.arg(format!("-I/usr/include/{multiarch}"));
    }
    cmd.arg("-c").arg(SOURCE).arg("-o").arg(obj);
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(version),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            Err(format!("{clang} failed on {SOURCE}: {}", err.lines().next().unwrap_or("")))
        }
        Err(e) => Err(format!("cannot run {clang} ({e})")),
    }
}

/// The stamp: `source-fnv1a64 HASH` and `clang VERSION` lines.
fn stamp_field(stamp: &str, key: &str) -> Option<String> {
    stamp.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().to_string())
}

fn committed_is_current(source_hash: &str) -> Result<(), String> {
    let stamp = std::fs::read_to_string(STAMP).map_err(|_| format!("there is no {STAMP}"))?;
    if !Path::new(COMMITTED).exists() {
        return Err(format!("there is no {COMMITTED}"));
    }
    match stamp_field(&stamp, "source-fnv1a64 ") {
        Some(h) if h == source_hash => Ok(()),
        _ => Err(format!("{SOURCE} changed since {COMMITTED} was built")),
    }
}

/// Compares the fresh object with the committed one (and the stamp with the source).
fn check_committed(obj: &Path, source_hash: &str, version: &str) {
    let fresh = std::fs::read(obj).unwrap_or_default();
    let committed = std::fs::read(COMMITTED).unwrap_or_default();
    let stamp = format!("source-fnv1a64 {source_hash}\nclang {version}\n");
    let current = std::fs::read_to_string(STAMP).unwrap_or_default();
    if fresh == committed && current == stamp {
        return;
    }
    if env::var_os("UBOND_BPF_UPDATE").is_some() {
        let written =
            std::fs::write(COMMITTED, &fresh).and_then(|()| std::fs::write(STAMP, &stamp));
        match written {
            Ok(()) => println!("cargo::warning=wrote {COMMITTED} and {STAMP}"),
            Err(e) => panic!("cannot write {COMMITTED}: {e}"),
        }
        return;
    }
    let committed_clang = stamp_field(&current, "clang ").unwrap_or_default();
    let why = if committed_clang != version {
        format!("it was built by \"{committed_clang}\", this is \"{version}\"")
    } else {
        format!("{SOURCE} changed since it was built")
    };
    let msg = format!(
        "the committed {COMMITTED} differs from what clang builds from {SOURCE} ({why}); \
         refresh it: UBOND_BPF_UPDATE=1 cargo build -p ubond-sys"
    );
    if env::var_os("UBOND_BPF_CHECK").is_some() {
        panic!("{msg}");
    }
    println!("cargo::warning={msg}");
}

/// Reruns this script when a file appears in (or leaves) a directory of `PATH`.
fn watch_path() {
    println!("cargo::rerun-if-env-changed=PATH");
    let path = env::var_os("PATH").unwrap_or_default();
    for dir in env::split_paths(&path).filter(|d| d.is_absolute() && d.is_dir()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
}

/// FNV-1a, 64 bits: enough to notice an edited source (no dependency needed).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}
