//! The sandbox of tool commands (`SANDBOX`, `SANDBOX_NETWORK`; docs/reliability.md, "Sandbox
//! for tool commands"). With `SANDBOX=workspace-write` the `bash` tool's commands and the
//! functions' commands run under Landlock: they read everywhere and may write only in the
//! project, the `--add-dir` folders, the temp folders and a few harmless devices. With
//! `SANDBOX_NETWORK=0` they also get no network: a seccomp filter refuses every socket that is
//! not a Unix socket (TCP, UDP and so DNS, raw sockets) and io_uring, and Landlock (ABI 4 and
//! later) refuses TCP connect and bind as a second wall.
//!
//! The rules are applied by the command supervisor (`supervisor.rs`), a fresh `sx` process,
//! to itself before it starts the command: nothing runs between fork and exec in sx.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, path_beneath_rules,
};

/// The value of `SANDBOX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// No sandbox: commands do whatever the user may.
    #[default]
    Off,
    /// Writes only in the project, the added folders and the temp folders.
    WorkspaceWrite,
}

/// What a command may do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub mode: Mode,
    /// Whether the command may use the network (only restricted under `WorkspaceWrite`).
    pub network: bool,
    /// Folders (and devices) the command may write to, besides reading everywhere.
    pub writable: Vec<PathBuf>,
}

/// Devices every command may write to (tools redirect to them; nothing is kept).
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// The highest Landlock ABI whose rights sx asks for (tested on ABI 7 kernels): V5 adds
/// `ioctl` on devices, V4 TCP, V3 truncation, V2 renames across folders.
const FS_ABI: ABI = ABI::V5;

impl Policy {
    /// No sandbox.
    pub fn off() -> Policy {
        Policy {
            mode: Mode::Off,
            network: true,
            writable: Vec::new(),
        }
    }

    /// The policy of the configuration's `SANDBOX` and `SANDBOX_NETWORK` for a session whose
    /// writable roots are `roots` (the project and the `--add-dir` folders). The temp folders
    /// (`/tmp`, `$TMPDIR`, `/dev/shm`) and a few devices are added.
    pub fn from_config<'a>(
        sandbox: Option<&str>,
        network: bool,
        roots: impl IntoIterator<Item = &'a Path>,
    ) -> Policy {
        if sandbox == Some("off") {
            return Policy::off();
        }
        let mut writable: Vec<PathBuf> = roots.into_iter().map(Path::to_path_buf).collect();
        writable.extend(temp_folders());
        writable.extend(DEVICES.iter().map(PathBuf::from));
        writable.dedup();
        Policy {
            mode: Mode::WorkspaceWrite,
            network,
            writable,
        }
    }

    pub fn restricts(&self) -> bool {
        self.mode == Mode::WorkspaceWrite
    }

    /// The policy as the supervisor's arguments (`--sandbox`, `--no-network`, `--write DIR`…).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out = Vec::new();
        if !self.restricts() {
            return out;
        }
        out.push("--sandbox".into());
        if !self.network {
            out.push("--no-network".into());
        }
        for w in &self.writable {
            out.push("--write".into());
            out.push(w.clone().into_os_string());
        }
        out
    }

    /// Read back what [`Policy::to_args`] wrote, from the start of `args`; returns the policy
    /// and the arguments after it.
    pub fn from_args(args: &[OsString]) -> Result<(Policy, &[OsString]), String> {
        let mut p = Policy::off();
        let mut i = 0;
        while let Some(a) = args.get(i) {
            match a.to_str() {
                Some("--sandbox") => p.mode = Mode::WorkspaceWrite,
                Some("--no-network") => p.network = false,
                Some("--write") => {
                    let dir = args.get(i + 1).ok_or("--write needs a folder")?;
                    p.writable.push(PathBuf::from(dir));
                    i += 1;
                }
                _ => break,
            }
            i += 1;
        }
        Ok((p, &args[i..]))
    }
}

/// Set the sandbox of this run's commands from `SANDBOX` (unset: `workspace-write` when every
/// call runs unasked, `--yolo` or `APPROVAL=auto`; `off` otherwise, the user approving each
/// command) and `SANDBOX_NETWORK`. Returns the one-line warning for what the kernel cannot
/// enforce.
pub fn configure(config: &sx_config::Config, unasked: bool) -> Option<String> {
    let mode = match config.get_nonempty("SANDBOX") {
        Some("off") => Mode::Off,
        Some(_) => Mode::WorkspaceWrite,
        None if unasked => Mode::WorkspaceWrite,
        None => Mode::Off,
    };
    let network = config.flag("SANDBOX_NETWORK");
    super::command::set_sandbox(mode, network)
}

/// The temp folders commands may write to: `/tmp`, `$TMPDIR` when set, and `/dev/shm`
/// (POSIX shared memory and semaphores). Not `/var/tmp`, whose files outlive a reboot.
pub fn temp_folders() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("/tmp")];
    if let Some(t) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
        out.push(PathBuf::from(t));
    }
    out.push(PathBuf::from("/dev/shm"));
    out
}

/// What the running kernel can enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    /// Landlock file-system rules (Linux 5.13+, when `landlock` is among the active LSMs).
    pub landlock: bool,
    /// Landlock's truncation right (ABI 3, Linux 6.2): without it a command can still
    /// truncate a file outside the writable folders.
    pub truncate: bool,
    /// seccomp filters (for `SANDBOX_NETWORK=0`).
    pub seccomp: bool,
}

/// Ask the kernel what it supports (creates and drops a Landlock ruleset; changes nothing).
pub fn probe() -> Support {
    let has = |access| {
        Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(access)
            .and_then(|r| r.create())
            .is_ok()
    };
    let seccomp = std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Seccomp:")));
    Support {
        landlock: has(AccessFs::from_all(ABI::V1)),
        truncate: has(AccessFs::from_all(ABI::V3)),
        seccomp,
    }
}

/// The one-time message for a policy the kernel cannot (fully) enforce: what is not
/// enforced, and how to silence it. `None` when everything is.
pub fn unenforced(policy: &Policy, support: Support) -> Option<String> {
    if !policy.restricts() {
        return None;
    }
    let mut missing = Vec::new();
    if !support.landlock {
        missing.push(
            "the kernel has no Landlock (Linux 5.13 or later, with landlock among the LSMs it boots with), so tool commands can write outside the project"
                .to_string(),
        );
    } else if !support.truncate {
        missing.push(
            "the kernel's Landlock is older than Linux 6.2, so tool commands can still truncate files outside the project"
                .to_string(),
        );
    }
    if !policy.network && !support.seccomp {
        missing.push(
            "the kernel has no seccomp, so SANDBOX_NETWORK=0 cannot cut the network of tool commands (they are refused instead)"
                .to_string(),
        );
    }
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "SANDBOX=workspace-write is not fully enforced: {}; set SANDBOX=off to run commands without the sandbox and silence this warning",
        missing.join("; ")
    ))
}

/// Restrict this process (and what it starts from now on) to `policy`. Best effort for the
/// file-system rules (a kernel without Landlock was reported once by [`unenforced`]); an
/// error for anything that fails unexpectedly, and for a network cut that cannot be made.
pub fn apply(policy: &Policy) -> Result<(), String> {
    if !policy.restricts() {
        return Ok(());
    }
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(FS_ABI))
        .map_err(|e| format!("Landlock: {e}"))?;
    if !policy.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI::V4))
            .map_err(|e| format!("Landlock: {e}"))?;
    }
    let status = ruleset
        .create()
        .and_then(|r| r.add_rules(path_beneath_rules(["/"], AccessFs::from_read(FS_ABI))))
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                &policy.writable,
                AccessFs::from_all(FS_ABI),
            ))
        })
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("Landlock: {e}"))?;
    // `restrict_self` set no_new_privs, which the seccomp filter needs too.
    if !policy.network {
        if !status.no_new_privs {
            return Err("could not set no_new_privs for the network filter".into());
        }
        let program = network_filter()?;
        seccompiler::apply_filter(&program)
            .map_err(|e| format!("the network filter (seccomp): {e}"))?;
    }
    Ok(())
}

/// A seccomp program that refuses (EPERM) every socket that is not a Unix socket, and io_uring
/// (whose operations would bypass a system-call filter).
fn network_filter() -> Result<seccompiler::BpfProgram, String> {
    use nix::libc;
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let err = |e: seccompiler::BackendError| format!("the network filter (seccomp): {e}");
    let not_unix = SeccompRule::new(vec![
        SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .map_err(err)?,
    ])
    .map_err(err)?;
    let mut rules = std::collections::BTreeMap::new();
    rules.insert(libc::SYS_socket, vec![not_unix.clone()]);
    rules.insert(libc::SYS_socketpair, vec![not_unix]);
    for nr in [
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
    ] {
        rules.insert(nr, Vec::new());
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| format!("the network filter (seccomp): {e}"))?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(err)?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| err(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_goes_through_the_supervisors_arguments() {
        let p = Policy::from_config(
            Some("workspace-write"),
            false,
            [Path::new("/work/proj"), Path::new("/work/lib")],
        );
        assert!(p.restricts());
        assert_eq!(
            &p.writable[..2],
            [PathBuf::from("/work/proj"), PathBuf::from("/work/lib")]
        );
        assert!(p.writable.contains(&PathBuf::from("/tmp")));
        assert!(p.writable.contains(&PathBuf::from("/dev/null")));
        assert!(!p.writable.contains(&PathBuf::from("/var/tmp")));
        let mut args = p.to_args();
        args.extend(["--".into(), "bash".into()]);
        let (back, rest) = Policy::from_args(&args).unwrap();
        assert_eq!(back, p);
        assert_eq!(rest, [OsString::from("--"), OsString::from("bash")]);

        let off = Policy::from_config(Some("off"), false, [Path::new("/p")]);
        assert!(!off.restricts() && off.network);
        assert!(off.to_args().is_empty());
        let (back, _) = Policy::from_args(&[]).unwrap();
        assert_eq!(back, Policy::off());
        assert!(Policy::from_args(&["--write".into()]).is_err());
    }

    #[test]
    fn the_warning_says_what_is_not_enforced() {
        let p = Policy::from_config(None, false, [Path::new("/p")]);
        let all = Support {
            landlock: true,
            truncate: true,
            seccomp: true,
        };
        assert_eq!(unenforced(&p, all), None);
        assert_eq!(
            unenforced(
                &Policy::off(),
                Support {
                    landlock: false,
                    ..all
                }
            ),
            None
        );
        let none = unenforced(
            &p,
            Support {
                landlock: false,
                ..all
            },
        )
        .unwrap();
        assert!(none.contains("can write outside the project"), "{none}");
        assert!(none.contains("set SANDBOX=off"), "{none}");
        let old = unenforced(
            &p,
            Support {
                truncate: false,
                ..all
            },
        )
        .unwrap();
        assert!(old.contains("truncate"), "{old}");
        let net = unenforced(
            &p,
            Support {
                seccomp: false,
                ..all
            },
        )
        .unwrap();
        assert!(net.contains("SANDBOX_NETWORK=0"), "{net}");
    }

    #[test]
    fn the_network_filter_compiles_for_this_machine() {
        assert!(!network_filter().unwrap().is_empty());
    }
}
