//! Applies the artifact's Landlock plan to the calling (child) process, with the
//! run's path variables expanded. Landlock is best effort unless required: a
//! kernel without it, or without some right, weakens only the static bound (the
//! filter and the monitor still decide everything); the caller warns loudly.

use claw_ir::landlock::{FsRight, LandlockPlan};
use claw_ir::Env;
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The newest ABI this runtime knows how to ask for.
const ABI_WANTED: ABI = ABI::V6;

/// How well the plan was enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enforcement {
    /// Every right of the plan is enforced.
    Full,
    /// Some rights were not available; the string says which part.
    Partial(String),
    /// Landlock is not available; the string says why.
    None(String),
}

fn right(r: FsRight) -> AccessFs {
    match r {
        FsRight::Execute => AccessFs::Execute,
        FsRight::WriteFile => AccessFs::WriteFile,
        FsRight::ReadFile => AccessFs::ReadFile,
        FsRight::ReadDir => AccessFs::ReadDir,
        FsRight::RemoveDir => AccessFs::RemoveDir,
        FsRight::RemoveFile => AccessFs::RemoveFile,
        FsRight::MakeChar => AccessFs::MakeChar,
        FsRight::MakeDir => AccessFs::MakeDir,
        FsRight::MakeReg => AccessFs::MakeReg,
        FsRight::MakeSock => AccessFs::MakeSock,
        FsRight::MakeFifo => AccessFs::MakeFifo,
        FsRight::MakeBlock => AccessFs::MakeBlock,
        FsRight::MakeSym => AccessFs::MakeSym,
        FsRight::Refer => AccessFs::Refer,
        FsRight::Truncate => AccessFs::Truncate,
    }
}

fn rights(rs: &[FsRight]) -> BitFlags<AccessFs> {
    rs.iter().fold(BitFlags::empty(), |acc, r| acc | right(*r))
}

/// Restricts the calling thread (and its future children). `required`: fail
/// instead of degrading. `ports`: also restrict TCP connect/bind ports (not in
/// isolated mode, where the sandbox's network namespace bounds its sockets).
pub fn apply(plan: &LandlockPlan, env: &Env, required: bool, ports: bool) -> Result<Enforcement, String> {
    let level = if required {
        CompatLevel::HardRequirement
    } else {
        CompatLevel::BestEffort
    };
    let handled = rights(&plan.handled_fs) & AccessFs::from_all(ABI_WANTED);
    let mut ruleset = Ruleset::default().set_compatibility(level);
    if !handled.is_empty() {
        ruleset = ruleset.handle_access(handled).map_err(|e| e.to_string())?;
    }
    let mut net: BitFlags<AccessNet> = BitFlags::empty();
    if ports && plan.tcp_connect.is_some() {
        net |= AccessNet::ConnectTcp;
    }
    if ports && plan.tcp_bind.is_some() {
        net |= AccessNet::BindTcp;
    }
    if !net.is_empty() {
        ruleset = ruleset.handle_access(net).map_err(|e| e.to_string())?;
    }
    let mut scopes: BitFlags<Scope> = BitFlags::empty();
    if plan.scope_abstract_unix {
        scopes |= Scope::AbstractUnixSocket;
    }
    if plan.scope_signal {
        scopes |= Scope::Signal;
    }
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes).map_err(|e| e.to_string())?;
    }
    let mut created = ruleset.create().map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    for g in &plan.fs {
        let Some(path) = env.expand(&g.path) else {
            continue; // an unset variable grants nothing
        };
        let fd = match PathFd::new(&path) {
            Ok(fd) => fd,
            // Nothing there to grant (yet): the monitor still decides precisely.
            Err(_) => {
                missing.push(path);
                continue;
            }
        };
        let mut access = rights(&g.rights) & handled;
        if !std::path::Path::new(&path).is_dir() {
            access &= AccessFs::from_file(ABI_WANTED);
        }
        if access.is_empty() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| format!("landlock rule for {path}: {e}"))?;
    }
    for (ports, access) in [
        (&plan.tcp_connect, AccessNet::ConnectTcp),
        (&plan.tcp_bind, AccessNet::BindTcp),
    ] {
        for port in ports.iter().flatten().filter(|_| !net.is_empty()) {
            created = created
                .add_rule(NetPort::new(*port, access))
                .map_err(|e| format!("landlock port rule {port}: {e}"))?;
        }
    }
    let status = created.restrict_self().map_err(|e| e.to_string())?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::Full,
        RulesetStatus::PartiallyEnforced => Enforcement::Partial(format!(
            "this kernel's Landlock ABI lacks some rights the plan asks for (wanted ABI {})",
            ABI_WANTED as i32
        )),
        RulesetStatus::NotEnforced => Enforcement::None("this kernel does not enforce Landlock".into()),
    })
}
