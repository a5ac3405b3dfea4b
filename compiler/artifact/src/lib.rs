//! `out.bin`: everything the runtime needs, and nothing it must trust blindly.
//!
//! ```text
//! offset size
//!      0    8  magic  "CLAWPOL\0"
//!      8    2  format version (little-endian), currently 1
//!     10    2  architecture: 1 = x86_64, 2 = aarch64
//!     12    4  AUDIT_ARCH of that architecture
//!     16    8  payload length in bytes
//!     24   32  SHA-256 of the payload
//!     56    …  payload: sections, each  tag u32 · length u32 · bytes
//!                1 program   cBPF, 8 bytes per instruction (struct sock_filter)
//!                2 ir        the state table (JSON)
//!                3 landlock  the Landlock plan (JSON)
//!                4 metadata  compiler, source hash, proofs (JSON)
//!                5 isolated  the isolated-mode plan (JSON), optional: present only
//!                            when `clawc compile` proved it implements the policy
//! ```
//!
//! The loader checks, in order: magic, version, architecture, length, checksum,
//! every required section present exactly once (the optional one at most once), the program as the kernel would (and that
//! its architecture check names the header's architecture), and the IR's internal
//! consistency. The checksum detects corruption; it is not a signature.

#![forbid(unsafe_code)]

use claw_bpf::{Insn, Program};
use claw_ir::isolate::IsolatedPlan;
use claw_ir::landlock::LandlockPlan;
use claw_ir::Ir;
use claw_stdlib::Arch;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first eight bytes of every artifact.
pub const MAGIC: &[u8; 8] = b"CLAWPOL\0";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 56;

const TAG_PROGRAM: u32 = 1;
const TAG_IR: u32 = 2;
const TAG_LANDLOCK: u32 = 3;
const TAG_METADATA: u32 = 4;
const TAG_ISOLATED: u32 = 5;

/// The outcome of one verification check, recorded in the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProofOutcome {
    /// The check proved its property.
    Proved,
    /// The check found a counterexample.
    Failed,
    /// Timed out or the solver answered unknown.
    Unknown,
}

/// One check run at compile time and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// What was checked (`assert never connect after read secrets`, `translation`).
    pub check: String,
    /// How it ended.
    pub outcome: ProofOutcome,
}

/// Where the artifact came from and what was proved about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// `clawc 0.1.0`.
    pub compiler: String,
    /// The policy source file's name.
    pub source_name: String,
    /// Hex SHA-256 of the policy source file.
    pub source_sha256: String,
    /// Checks run at compile time; empty when none were run.
    pub proofs: Vec<Proof>,
}

/// A loaded or freshly compiled artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The mediated-mode seccomp filter.
    pub program: Program,
    /// The policy the monitor decides with.
    pub ir: Ir,
    /// The mediated-mode Landlock ruleset.
    pub landlock: LandlockPlan,
    /// Provenance and proofs.
    pub metadata: Metadata,
    /// The isolated-mode plan, only if its translation validation proved it
    /// (`None`: the runtime runs the policy in mediated mode). An artifact
    /// written before isolated mode existed has none and loads as before.
    pub isolated: Option<IsolatedPlan>,
}

/// Why an artifact was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The magic is wrong.
    #[error("not a ClawLess policy artifact (bad magic); compile one with `clawc compile`")]
    NotAnArtifact,
    /// The file ends early.
    #[error("artifact is truncated: {what} needs {need} bytes, only {have} present")]
    Truncated {
        /// The part that is cut short.
        what: &'static str,
        /// The bytes it needs.
        need: u64,
        /// The bytes present.
        have: u64,
    },
    /// A format version this build does not read.
    #[error("artifact format version {found} is not supported (this build reads version {FORMAT_VERSION}); recompile the policy")]
    UnsupportedVersion {
        /// The version the file has.
        found: u16,
    },
    /// An architecture code this build does not know.
    #[error("artifact names unknown architecture code {0}")]
    UnknownArch(u16),
    /// Compiled for another architecture.
    #[error("artifact was compiled for {artifact}, but this machine is {host}; recompile with `clawc compile --target {host}`")]
    ForeignArch {
        /// The artifact's architecture.
        artifact: Arch,
        /// This machine's.
        host: Arch,
    },
    /// The SHA-256 of the payload does not match.
    #[error("artifact checksum mismatch: the file is corrupt")]
    ChecksumMismatch,
    /// Bytes after the last section.
    #[error("artifact has {0} bytes after its payload")]
    TrailingBytes(usize),
    /// A section is missing, repeated, unknown or does not parse.
    #[error("artifact section {0}")]
    BadSection(String),
    /// The filter is not one the kernel would run.
    #[error("artifact's filter is invalid: {0}")]
    InvalidProgram(#[from] claw_bpf::EmuError),
    /// The IR is internally inconsistent.
    #[error("artifact's state table is inconsistent: {0}")]
    InvalidIr(String),
}

fn arch_code(a: Arch) -> u16 {
    match a {
        Arch::X86_64 => 1,
        Arch::Aarch64 => 2,
    }
}

impl Artifact {
    /// Serialises the artifact.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        let mut section = |tag: u32, bytes: &[u8]| {
            payload.extend_from_slice(&tag.to_le_bytes());
            payload.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            payload.extend_from_slice(bytes);
        };
        let prog: Vec<u8> = self.program.iter().flat_map(|i| i.to_bytes()).collect();
        section(TAG_PROGRAM, &prog);
        // Serialising these plain data types cannot fail.
        section(TAG_IR, &serde_json::to_vec(&self.ir).unwrap_or_default());
        section(
            TAG_LANDLOCK,
            &serde_json::to_vec(&self.landlock).unwrap_or_default(),
        );
        section(
            TAG_METADATA,
            &serde_json::to_vec(&self.metadata).unwrap_or_default(),
        );
        if let Some(plan) = &self.isolated {
            section(TAG_ISOLATED, &serde_json::to_vec(plan).unwrap_or_default());
        }

        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&arch_code(self.ir.arch).to_le_bytes());
        out.extend_from_slice(&self.ir.arch.audit_arch().to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&payload));
        out.extend_from_slice(&payload);
        out
    }

    /// Parses and checks an artifact for any architecture.
    pub fn from_bytes(bytes: &[u8]) -> Result<Artifact, LoadError> {
        if bytes.len() < MAGIC.len() || &bytes[..8] != MAGIC {
            return Err(LoadError::NotAnArtifact);
        }
        if bytes.len() < HEADER_LEN {
            return Err(LoadError::Truncated {
                what: "the header",
                need: HEADER_LEN as u64,
                have: bytes.len() as u64,
            });
        }
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
        let version = u16_at(8);
        if version != FORMAT_VERSION {
            return Err(LoadError::UnsupportedVersion { found: version });
        }
        let arch = match u16_at(10) {
            1 => Arch::X86_64,
            2 => Arch::Aarch64,
            other => return Err(LoadError::UnknownArch(other)),
        };
        let audit = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
        if audit != arch.audit_arch() {
            return Err(LoadError::BadSection(format!(
                "header: AUDIT_ARCH {audit:#x} does not match {arch}"
            )));
        }
        let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let have = (bytes.len() - HEADER_LEN) as u64;
        if have < len {
            return Err(LoadError::Truncated {
                what: "the payload",
                need: len,
                have,
            });
        }
        if have > len {
            return Err(LoadError::TrailingBytes((have - len) as usize));
        }
        let payload = &bytes[HEADER_LEN..];
        if Sha256::digest(payload).as_slice() != &bytes[24..56] {
            return Err(LoadError::ChecksumMismatch);
        }

        let mut sections: [Option<&[u8]>; 5] = [None; 5];
        let mut rest = payload;
        while !rest.is_empty() {
            if rest.len() < 8 {
                return Err(LoadError::BadSection("header cut short".into()));
            }
            let tag = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
            let n = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes")) as usize;
            if rest.len() - 8 < n {
                return Err(LoadError::BadSection(format!("{tag} is longer than the payload")));
            }
            let slot = match tag {
                TAG_PROGRAM..=TAG_ISOLATED => &mut sections[tag as usize - 1],
                other => return Err(LoadError::BadSection(format!("{other} is unknown"))),
            };
            if slot.replace(&rest[8..8 + n]).is_some() {
                return Err(LoadError::BadSection(format!("{tag} appears twice")));
            }
            rest = &rest[8 + n..];
        }
        let [Some(prog), Some(ir), Some(ll), Some(meta), iso] = sections else {
            return Err(LoadError::BadSection(
                "missing (program, ir, landlock and metadata are all required)".into(),
            ));
        };
        if prog.len() % 8 != 0 {
            return Err(LoadError::BadSection(
                "program is not a whole number of instructions".into(),
            ));
        }
        let program: Program = prog
            .chunks_exact(8)
            .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
            .collect();
        claw_bpf::validate(&program)?;
        check_arch_prologue(&program, arch)?;
        let json = |what: &str, e: serde_json::Error| LoadError::BadSection(format!("{what}: {e}"));
        let ir: Ir = serde_json::from_slice(ir).map_err(|e| json("ir", e))?;
        let landlock: LandlockPlan = serde_json::from_slice(ll).map_err(|e| json("landlock", e))?;
        let metadata: Metadata = serde_json::from_slice(meta).map_err(|e| json("metadata", e))?;
        let isolated: Option<IsolatedPlan> = iso
            .map(|b| serde_json::from_slice(b).map_err(|e| json("isolated", e)))
            .transpose()?;
        if ir.arch != arch {
            return Err(LoadError::InvalidIr(format!(
                "it is for {}, the header says {arch}",
                ir.arch
            )));
        }
        check_ir(&ir)?;
        if let Some(plan) = &isolated {
            check_isolated(&ir, plan)?;
        }
        Ok(Artifact {
            program,
            ir,
            landlock,
            metadata,
            isolated,
        })
    }

    /// Loads an artifact to run on this machine: also refuses a foreign architecture.
    pub fn load_for_host(bytes: &[u8]) -> Result<Artifact, LoadError> {
        let a = Artifact::from_bytes(bytes)?;
        match Arch::native() {
            Some(host) if host == a.ir.arch => Ok(a),
            Some(host) => Err(LoadError::ForeignArch {
                artifact: a.ir.arch,
                host,
            }),
            None => Err(LoadError::UnknownArch(0)),
        }
    }
}

/// The filter must begin by killing foreign architectures, for this architecture.
fn check_arch_prologue(p: &[Insn], arch: Arch) -> Result<(), LoadError> {
    use claw_bpf::*;
    let ok = p.len() > 3
        && p[0] == Insn::ld_abs(OFF_ARCH)
        && p[1] == Insn::jump(BPF_JEQ, arch.audit_arch(), 1, 0)
        && p[2] == Insn::ret(RET_KILL_PROCESS);
    if ok {
        Ok(())
    } else {
        Err(LoadError::InvalidProgram(claw_bpf::EmuError::BadOpcode {
            at: 0,
            code: p.first().map_or(0, |i| i.code),
        }))
    }
}

/// The isolated plan is one the runtime can apply to this IR: its routes name
/// syscalls of the architecture once each, with argument conditions the filter
/// can test, and an open's route notifies every open with `O_CREAT` or
/// `O_TMPFILE` (creations: the monitor marks a new secret); its paths are absolute or start with a variable, without `.` or
/// `..` components; its carves deny a verb Landlock carries; every right it
/// grants is one its ruleset handles (Landlock refuses other rules). What the
/// plan decides was proved by `clawc` (the checksum guards the bytes); this
/// refuses, before anything runs, a section that no proof can have produced.
fn check_isolated(ir: &Ir, plan: &IsolatedPlan) -> Result<(), LoadError> {
    let bad = |m: String| Err(LoadError::BadSection(format!("isolated: {m}")));
    let table = ir.table();
    let mut seen = Vec::new();
    for r in &plan.routes {
        if table.by_nr(r.nr).is_none() {
            return bad(format!(
                "route of syscall {} that {} does not have",
                r.nr, ir.arch
            ));
        }
        if seen.contains(&r.nr) {
            return bad(format!("two routes of syscall {}", r.nr));
        }
        seen.push(r.nr);
        for c in r.rules.iter().flat_map(|x| &x.conds) {
            if c.arg > 5 || ![16, 32, 64].contains(&c.width) {
                return bad(format!("argument condition {c:?}"));
            }
        }
        // A creation reaches the monitor (the plan's validation does not model
        // creations): an open's route notifies `O_CREAT` and `O_TMPFILE`'s own bit
        // whatever the other registers hold — a rule of that one condition with no
        // rule deciding in the kernel before it. The rest (O_DIRECTORY, from
        // AT_FDCWD or not) is the proved plan's.
        let name = table.by_nr(r.nr).map_or("", |s| s.name);
        if let Some(claw_ir::mediation::Mediation::Open { flags, .. }) = claw_ir::mediation::of(name) {
            let value = |n: &str| claw_stdlib::constants::by_name(n).map_or(0, |c| c.value(ir.arch) as u64);
            let tmpfile = value("O_TMPFILE") & !value("O_DIRECTORY");
            for (bit, what) in [(value("O_CREAT"), "O_CREAT"), (tmpfile, "__O_TMPFILE")] {
                let notify = claw_ir::isolate::IsoAction::Notify;
                let only = |x: &claw_ir::isolate::IsoArgRule| {
                    matches!(x.conds.as_slice(), [c] if c.arg == flags && c.op == claw_ir::CmpOp::Ne && c.value == 0
                        && c.mask.is_some_and(|m| m & claw_ir::width_mask(c.width) == bit))
                };
                let before = r.rules.iter().position(|x| x.action == notify && only(x));
                let ok = match before {
                    Some(i) => r.rules[..i].iter().all(|x| x.action == notify),
                    None => r.rules.iter().all(|x| x.action == notify) && r.fallback == notify,
                };
                if !ok {
                    return bad(format!(
                        "the route of {name} does not notify every open with {what}"
                    ));
                }
            }
        }
    }
    let path_ok = |p: &str| {
        let rest = match p.strip_prefix('$') {
            Some(r) => {
                let end = r.find('/').unwrap_or(r.len());
                if end == 0 {
                    return false;
                }
                &r[end..]
            }
            None if p.starts_with('/') => p,
            None => return false,
        };
        !p.contains('\0') && !rest.split('/').any(|c| c == "." || c == "..")
    };
    let paths = plan
        .landlock
        .fs
        .iter()
        .map(|g| &g.path)
        .chain(&plan.literal_grants)
        .chain(plan.carves.iter().map(|c| &c.pattern))
        .chain(plan.tripwires.iter().map(|t| &t.pattern))
        .chain(&plan.monitored);
    for p in paths {
        if !path_ok(p) {
            return bad(format!("path {p:?}"));
        }
    }
    for c in &plan.carves {
        if !matches!(
            c.verb,
            claw_ir::Verb::Write | claw_ir::Verb::Append | claw_ir::Verb::Exec
        ) {
            return bad(format!("a carve of `{}`", c.verb.name()));
        }
    }
    for g in &plan.landlock.fs {
        if let Some(r) = g.rights.iter().find(|r| !plan.landlock.handled_fs.contains(r)) {
            return bad(format!(
                "{} is granted {r:?}, which the ruleset does not handle",
                g.path
            ));
        }
    }
    Ok(())
}

fn check_ir(ir: &Ir) -> Result<(), LoadError> {
    let bad = |m: String| Err(LoadError::InvalidIr(m));
    let n = ir.states.len() as u32;
    if n == 0 {
        return bad("no states".into());
    }
    if ir.initial >= n {
        return bad(format!("initial state {} of {n}", ir.initial));
    }
    let check_matcher = |m: &claw_ir::Matcher| -> Result<(), LoadError> {
        if let claw_ir::Matcher::Syscall { conds, .. } = m {
            for c in conds {
                if c.arg > 5 || ![16, 32, 64].contains(&c.width) {
                    return Err(LoadError::InvalidIr(format!("argument condition {c:?}")));
                }
            }
        }
        Ok(())
    };
    for r in &ir.rules {
        if r.states.as_ref().is_some_and(|s| s.iter().any(|&s| s >= n)) {
            return bad(format!(
                "rule from {} names a state that does not exist",
                r.origin
            ));
        }
        check_matcher(&r.matcher)?;
    }
    for t in &ir.transitions {
        if t.from >= n || t.to >= n {
            return bad(format!(
                "transition from {} names a state that does not exist",
                t.origin
            ));
        }
        check_matcher(&t.event)?;
    }
    Ok(())
}

/// Hex SHA-256, for `Metadata::source_sha256`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
