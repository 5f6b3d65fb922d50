//! `TOOL completions SHELL` and `TOOL man`: shell completions and manual pages,
//! generated from the tool's own command line so that they never drift from it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Arg, ArgMatches, Command};
use clap_complete::Shell;

/// The two commands every tool has, to add to its command line.
pub fn commands() -> [Command; 2] {
    [
        Command::new("completions")
            .about("Print shell completions (bash, zsh, fish, elvish, powershell) to stdout")
            .long_about(
                "Print shell completions to stdout. For example:\n  \
                 TOOL completions bash > ~/.local/share/bash-completion/completions/TOOL\n  \
                 TOOL completions zsh > ~/.zfunc/_TOOL   (with fpath+=~/.zfunc)\n  \
                 TOOL completions fish > ~/.config/fish/completions/TOOL.fish",
            )
            .arg(
                Arg::new("shell")
                    .value_name("SHELL")
                    .required(true)
                    .value_parser(clap::value_parser!(Shell)),
            ),
        Command::new("man")
            .about("Print the manual page (roff) to stdout, or write one per command into a folder")
            .arg(
                Arg::new("dir")
                    .long("dir")
                    .value_name("DIR")
                    .value_parser(clap::value_parser!(PathBuf))
                    .help("Write TOOL.1 and TOOL-COMMAND.1 for each command into DIR"),
            ),
    ]
}

/// Whether `name` is one of [`commands`].
pub fn is_shell_command(name: &str) -> bool {
    matches!(name, "completions" | "man")
}

/// Run `completions` or `man` for the tool whose whole command line is `cmd`.
pub fn run(name: &str, matches: &ArgMatches, mut cmd: Command) -> anyhow::Result<ExitCode> {
    let bin = cmd.get_name().to_string();
    match name {
        "completions" => {
            let shell = *matches.get_one::<Shell>("shell").expect("required");
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, bin, &mut out);
            crate::cli::print_stdout(&String::from_utf8_lossy(&out))?;
        }
        _ => match matches.get_one::<PathBuf>("dir") {
            Some(dir) => {
                let written = write_pages(&cmd, dir)?;
                eprintln!("wrote {written} manual pages into {}", dir.display());
            }
            None => {
                let mut out = Vec::new();
                clap_mangen::Man::new(cmd).render(&mut out)?;
                crate::cli::print_stdout(&String::from_utf8_lossy(&out))?;
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// `TOOL.1` and `TOOL-COMMAND.1` for every visible command.
fn write_pages(cmd: &Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = cmd.clone();
    cmd.build();
    let bin = cmd.get_name().to_string();
    let mut written = 0;
    let mut page = |c: Command, file: String| -> anyhow::Result<()> {
        let path = dir.join(file);
        let mut out = Vec::new();
        clap_mangen::Man::new(c).render(&mut out)?;
        std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
        Ok(())
    };
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        // Built, a command's display name is `TOOL-COMMAND`: the page's title.
        page(sub.clone(), format!("{bin}-{}.1", sub.get_name()))?;
    }
    page(cmd.clone(), format!("{bin}.1"))?;
    Ok(written)
}
