//! eventseal's task runner, in the cargo-xtask convention: a package of the workspace with no
//! dependencies, run through the `cargo xtask` alias (.cargo/config.toml), so there is nothing
//! to install first and it builds in a second or two.
//!
//! ```text
//! cargo xtask test [ARGS…]     set up what the tests need, then run every Rust test suite
//!                              (ARGS go to `cargo test`: `cargo xtask test -- replay`)
//! cargo xtask setup            set up only
//! --no-install                 never install system packages: stop and name the command
//! ```
//!
//! The tests use real components, never mocks, and start them themselves: `redis-server`
//! (the Redis replay store, TLS included), SoftHSM2 and OpenSC's `pkcs11-tool` (signing keys on
//! a PKCS#11 token) and moto's standalone server (a local AWS, in a Python virtual environment
//! under `target/moto-venv`). Set-up installs what is missing: the system packages with
//! `apt-get` when it runs as root on a Debian-like system, moto with pip. Where it cannot
//! install (not root, no apt-get, `--no-install`), it stops at once, before anything else is
//! compiled, with one line naming the command to run. No test is ever skipped because a
//! component is missing: a test that finds one missing fails, naming `cargo xtask setup`.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// moto's version, pinned: the tests' harness (crates/eventseal-aws/tests/moto/serve.py)
/// corrects the differences from AWS known for this one.
const MOTO: &str = "moto[server]==5.2.5";
/// Where Debian's softhsm2 package puts the module the PKCS#11 tests load.
const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The `cargo test` arguments of the whole Rust suite: every package but the Python binding
/// (built and tested by maturin and pytest) and the benchmarks, with the features whose tests
/// start a redis-server (the library's tests/redis.rs, the CLI's tests/redis.rs).
const TEST_ARGS: &[&str] = &[
    "test",
    "--workspace",
    "--exclude",
    "eventseal-py",
    "--exclude",
    "eventseal-bench",
    "--features",
    "eventseal/sqlite,eventseal/redis,eventseal/tokio,eventseal-cli/redis-server-tests",
];

const USAGE: &str = "usage: cargo xtask test [--no-install] [-- CARGO TEST ARGS…] | cargo xtask setup [--no-install]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let no_install = rest.iter().any(|a| a == "--no-install");
    let passthrough: Vec<&String> = rest.iter().filter(|a| *a != "--no-install").collect();
    let root = workspace_root();
    match task.as_str() {
        "setup" if passthrough.is_empty() => match setup(&root, no_install) {
            Ok(()) => ExitCode::SUCCESS,
            Err(stop) => stop.report(),
        },
        "test" => {
            if let Err(stop) = setup(&root, no_install) {
                return stop.report();
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(&root)
                .args(TEST_ARGS)
                .args(passthrough)
                .status();
            match status {
                Ok(s) if s.success() => ExitCode::SUCCESS,
                Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
                Err(e) => {
                    eprintln!("xtask: cannot run cargo test: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Why set-up stopped: one line for the user.
struct Stop(String);

impl Stop {
    fn report(self) -> ExitCode {
        eprintln!("xtask: {}", self.0);
        ExitCode::FAILURE
    }
}

/// Something the tests need, and the Debian package that provides it.
struct Need {
    what: &'static str,
    package: &'static str,
}

/// What the machine has, as far as set-up's decision goes.
struct Machine {
    missing: Vec<Need>,
    root: bool,
    apt: bool,
}

/// What set-up does about the missing system packages.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Ready,
    Install(Vec<&'static str>),
    Stop(String),
}

fn plan(m: &Machine, no_install: bool) -> Plan {
    if m.missing.is_empty() {
        return Plan::Ready;
    }
    let mut packages: Vec<&'static str> = Vec::new();
    for n in &m.missing {
        if !packages.contains(&n.package) {
            packages.push(n.package);
        }
    }
    let what: Vec<&str> = m.missing.iter().map(|n| n.what).collect();
    let install = format!("apt-get install -y {}", packages.join(" "));
    let stop = |instruction: String| {
        Plan::Stop(format!(
            "the tests need {}, missing here; {instruction}, then run this again",
            what.join(", ")
        ))
    };
    match (m.apt, m.root, no_install) {
        (true, true, false) => Plan::Install(packages),
        (true, true, true) => stop(format!("run `{install}`")),
        (true, false, _) => stop(format!("run `sudo {install}`")),
        (false, _, _) => stop(format!(
            "install them with your package manager (on Debian or Ubuntu: `{install}`)"
        )),
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0")
}

fn moto_ready(python: &Path) -> bool {
    succeeds(Command::new(python).args(["-c", "import moto.server, werkzeug"]))
}

fn survey(moto_python: &Path) -> Machine {
    let mut missing = Vec::new();
    if !on_path("redis-server") {
        missing.push(Need {
            what: "redis-server",
            package: "redis-server",
        });
    }
    if !on_path("softhsm2-util") || !Path::new(SOFTHSM_MODULE).is_file() {
        missing.push(Need {
            what: "SoftHSM2",
            package: "softhsm2",
        });
    }
    if !on_path("pkcs11-tool") {
        missing.push(Need {
            what: "pkcs11-tool",
            package: "opensc",
        });
    }
    // moto's virtual environment is made with the system's python3, which needs its venv
    // module and ensurepip (Debian ships them apart, in python3-venv).
    if !moto_ready(moto_python) {
        if !on_path("python3") {
            missing.push(Need {
                what: "python3",
                package: "python3",
            });
        }
        if !succeeds(Command::new("python3").args(["-c", "import venv, ensurepip"])) {
            missing.push(Need {
                what: "python3's venv module",
                package: "python3-venv",
            });
        }
    }
    Machine {
        missing,
        root: is_root(),
        apt: on_path("apt-get"),
    }
}

fn run(what: &str, cmd: &mut Command) -> Result<(), Stop> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(Stop(format!("{what} failed ({s})"))),
        Err(e) => Err(Stop(format!("{what}: {e}"))),
    }
}

fn setup(root: &Path, no_install: bool) -> Result<(), Stop> {
    let started = Instant::now();
    let venv = root.join("target/moto-venv");
    // The tests take moto from EVENTSEAL_MOTO_PYTHON when it is set (crates/eventseal-aws/
    // tests/common/moto.rs); set-up then checks that interpreter and creates no venv.
    let chosen = std::env::var_os("EVENTSEAL_MOTO_PYTHON").map(PathBuf::from);
    let moto_python = chosen.clone().unwrap_or_else(|| venv.join("bin/python"));
    let machine = survey(&moto_python);
    match plan(&machine, no_install) {
        Plan::Ready => {}
        Plan::Stop(line) => return Err(Stop(line)),
        Plan::Install(packages) => {
            eprintln!(
                "xtask: installing {} for the tests (apt-get)",
                packages.join(" ")
            );
            run(
                "apt-get update",
                Command::new("apt-get")
                    .args(["update", "-qq"])
                    .stdout(Stdio::null()),
            )?;
            run(
                "apt-get install",
                Command::new("apt-get")
                    .args(["install", "-y", "-qq", "--no-install-recommends"])
                    .args(&packages)
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .stdout(Stdio::null()),
            )?;
            let after = survey(&moto_python);
            if let Some(n) = after.missing.first() {
                return Err(Stop(format!(
                    "{} is still missing after apt-get install {}",
                    n.what, n.package
                )));
            }
        }
    }
    if !moto_ready(&moto_python) {
        if let Some(p) = chosen {
            return Err(Stop(format!(
                "EVENTSEAL_MOTO_PYTHON={} cannot import moto.server: pip install \"{MOTO}\" \
                 into it, or unset EVENTSEAL_MOTO_PYTHON",
                p.display()
            )));
        }
        eprintln!(
            "xtask: creating moto's virtual environment ({}, pip install \"{MOTO}\")",
            venv.display()
        );
        let _ = std::fs::remove_dir_all(&venv);
        run(
            "python3 -m venv",
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        )?;
        run(
            &format!("pip install \"{MOTO}\""),
            Command::new(&moto_python).args(["-m", "pip", "install", "--quiet", MOTO]),
        )?;
        if !moto_ready(&moto_python) {
            return Err(Stop(format!(
                "{} cannot import moto.server after pip install",
                moto_python.display()
            )));
        }
    }
    eprintln!(
        "xtask: set-up ready in {:.0} s (redis-server, SoftHSM2, pkcs11-tool, moto in {})",
        started.elapsed().as_secs_f64(),
        moto_python.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(missing: &[(&'static str, &'static str)], root: bool, apt: bool) -> Machine {
        Machine {
            missing: missing
                .iter()
                .map(|&(what, package)| Need { what, package })
                .collect(),
            root,
            apt,
        }
    }

    #[test]
    fn nothing_missing_is_ready_whoever_runs_it() {
        assert_eq!(plan(&machine(&[], false, false), true), Plan::Ready);
    }

    #[test]
    fn root_with_apt_installs_each_package_once() {
        let m = machine(
            &[
                ("redis-server", "redis-server"),
                ("python3", "python3-venv"),
                ("python3's venv module", "python3-venv"),
            ],
            true,
            true,
        );
        assert_eq!(
            plan(&m, false),
            Plan::Install(vec!["redis-server", "python3-venv"])
        );
    }

    #[test]
    fn without_root_it_stops_naming_the_sudo_command() {
        let m = machine(
            &[("redis-server", "redis-server"), ("pkcs11-tool", "opensc")],
            false,
            true,
        );
        assert_eq!(
            plan(&m, false),
            Plan::Stop(
                "the tests need redis-server, pkcs11-tool, missing here; run `sudo apt-get \
                 install -y redis-server opensc`, then run this again"
                    .into()
            )
        );
    }

    #[test]
    fn no_install_as_root_names_the_command_without_sudo() {
        let m = machine(&[("SoftHSM2", "softhsm2")], true, true);
        assert_eq!(
            plan(&m, true),
            Plan::Stop(
                "the tests need SoftHSM2, missing here; run `apt-get install -y softhsm2`, then \
                 run this again"
                    .into()
            )
        );
    }

    #[test]
    fn without_apt_it_names_the_debian_packages() {
        let m = machine(&[("SoftHSM2", "softhsm2")], true, false);
        let Plan::Stop(line) = plan(&m, false) else {
            panic!("expected a stop");
        };
        assert_eq!(
            line,
            "the tests need SoftHSM2, missing here; install them with your package manager (on \
             Debian or Ubuntu: `apt-get install -y softhsm2`), then run this again"
        );
    }
}
