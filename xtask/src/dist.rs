//! `cargo xtask dist`: the tools built for release, each with its shell
//! completions and manual pages, laid out as an install tree:
//!
//! ```text
//! target/dist/bin/pg2lightning ...
//! target/dist/share/bash-completion/completions/pg2lightning
//! target/dist/share/zsh/site-functions/_pg2lightning
//! target/dist/share/fish/vendor_completions.d/pg2lightning.fish
//! target/dist/share/man/man1/pg2lightning.1, pg2lightning-migrate.1, ...
//! ```
//!
//! Copy the tree under a prefix (`/usr/local`, `~/.local`) to install it. The
//! completions and pages come from the tools themselves (`TOOL completions SHELL`,
//! `TOOL man --dir DIR`), so they always match the binaries beside them.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::{cargo, repo_root, run, target_dir};

/// Every binary the workspace ships.
const TOOLS: [&str; 9] = [
    "lightning",
    "pg2lightning",
    "mysql2lightning",
    "sqlite2lightning",
    "mongo2lightning",
    "redis2lightning",
    "mssql2lightning",
    "cassandra2lightning",
    "oracle2lightning",
];

/// Where each shell looks for completions, under the prefix's `share/`.
const SHELLS: [(&str, &str, &str, &str); 3] = [
    ("bash", "bash-completion/completions", "", ""),
    ("zsh", "zsh/site-functions", "_", ""),
    ("fish", "fish/vendor_completions.d", "", ".fish"),
];

pub fn run_dist() -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--release", "--workspace", "--bins"]);
    run(&mut build).context("building the tools for release")?;
    let release = target_dir().join("release");
    let dist = target_dir().join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    let bin = dist.join("bin");
    std::fs::create_dir_all(&bin)?;
    for tool in TOOLS {
        let built = release.join(tool);
        if !built.exists() {
            bail!("{} was not built", built.display());
        }
        std::fs::copy(&built, bin.join(tool))
            .with_context(|| format!("copying {}", built.display()))?;
        for (shell, dir, prefix, suffix) in SHELLS {
            let out = dist.join("share").join(dir);
            std::fs::create_dir_all(&out)?;
            let text = output(&built, &["completions", shell])?;
            std::fs::write(out.join(format!("{prefix}{tool}{suffix}")), text)?;
        }
        let man = dist.join("share/man/man1");
        output(&built, &["man", "--dir", &man.display().to_string()])?;
    }
    let pages = std::fs::read_dir(dist.join("share/man/man1"))?.count();
    println!(
        "wrote {} tools, their completions for bash, zsh and fish, and {pages} manual pages into {}",
        TOOLS.len(),
        dist.strip_prefix(repo_root()).unwrap_or(&dist).display()
    );
    Ok(())
}

fn output(tool: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    if !out.status.success() {
        bail!(
            "{} {} failed: {}",
            tool.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}
