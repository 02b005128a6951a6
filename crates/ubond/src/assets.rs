//! `ubond assets --out DIR` (hidden): the man pages and shell completions, generated from the
//! command line's own definition, so they never disagree with the binary that ships them.
//!
//! Why a hidden subcommand rather than a build script or an xtask: the clap definition lives in
//! the binary's `main.rs`, and only the binary can hand it over without moving it into a
//! library; packaging runs the freshly built binary once (`dist/build-deb.sh`) before
//! `cargo deb` picks the files up.
//!
//! Writes `DIR/man/ubond.8`, one `ubond-VERB.8` per subcommand (nested ones too:
//! `ubond-config-lint.8`), and `DIR/completions/{ubond.bash,_ubond,ubond.fish}`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Command;
use clap_complete::Shell;

/// Writes every page and completion of `cmd` under `dir`.
pub fn write(cmd: Command, dir: &Path) -> Result<Vec<String>> {
    let mut cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    cmd.build();
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let mut written = Vec::new();
    pages(&cmd, "ubond", &man, &mut written)?;
    for (shell, name) in
        [(Shell::Bash, "ubond.bash"), (Shell::Zsh, "_ubond"), (Shell::Fish, "ubond.fish")]
    {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd, "ubond", &mut out);
        let path = completions.join(name);
        std::fs::write(&path, out).with_context(|| format!("{}: cannot write", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// `NAME.8` for `cmd`, then one page per visible subcommand, named `NAME-SUB`.
fn pages(cmd: &Command, name: &str, dir: &Path, written: &mut Vec<String>) -> Result<()> {
    // Titled `ubond-doctor(8)` (the page's name), with `ubond doctor` in the synopsis.
    let page = cmd.clone().name(name.to_string()).bin_name(name.replace('-', " "));
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .section("8")
        .manual("ubond manual")
        .source(format!("ubond {}", env!("CARGO_PKG_VERSION")))
        // A fixed date keeps the pages reproducible; the version says which release they are.
        .date("")
        .render(&mut out)
        .context("rendering a man page")?;
    let path = dir.join(format!("{name}.8"));
    std::fs::write(&path, out).with_context(|| format!("{}: cannot write", path.display()))?;
    written.push(path.display().to_string());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
