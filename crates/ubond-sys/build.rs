//! Compiles the fast path's tc programs (`bpf/datapath.bpf.c`) with clang. Without clang (or
//! when it fails) the crate builds without them: `ubond_sys::bpf::FastPath::load` then says
//! so and the daemon keeps its userspace data path.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ubond_bpf)");
    println!("cargo::rerun-if-changed=bpf/datapath.bpf.c");
    println!("cargo::rerun-if-env-changed=UBOND_CLANG");
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo::warning=OUT_DIR is not set; building without the BPF fast path");
        return;
    };
    let clang = env::var("UBOND_CLANG").unwrap_or_else(|_| "clang".to_string());
    let obj = out.join("datapath.bpf.o");
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
    let mut cmd = Command::new(&clang);
    cmd.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"]);
    if !multiarch.is_empty() {
        cmd.arg(format!("-I/usr/include/{multiarch}"));
    }
    cmd.arg("-c").arg("bpf/datapath.bpf.c").arg("-o").arg(&obj);
    match cmd.output() {
        Ok(o) if o.status.success() => println!("cargo::rustc-cfg=ubond_bpf"),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err.lines().next().unwrap_or("");
            println!(
                "cargo::warning=building without the BPF fast path: {clang} failed on \
                 bpf/datapath.bpf.c: {first}"
            );
        }
        Err(e) => println!(
            "cargo::warning=building without the BPF fast path: cannot run {clang} ({e}); \
             install clang (apt-get install clang) for the in-kernel data path"
        ),
    }
}
