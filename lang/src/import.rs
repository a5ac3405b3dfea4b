//! Docker/OCI seccomp profiles (JSON) → a Claw policy, as source text that checks.
//!
//! It knows the profile format (`defaultAction`, `defaultErrnoRet`, `architectures`,
//! `archMap`, `syscalls[]` with `names`/`name`, `action`, `errnoRet`, `args` with
//! `index`/`value`/`valueTwo`/`op`, `includes`/`excludes` on `caps`, `arches`,
//! `minKernel`) and how runc reads it: conditions on different arguments of one
//! rule must all hold, several conditions on the *same* argument are alternatives
//! (one rule each), `errnoRet` defaults to EPERM. It does not know what the
//! container runtime grants (capabilities are given with `--cap`).
//!
//! Malformed input is an [`ImportError`] naming the JSON path of the problem;
//! what Claw cannot express is either refused (TRAP, TRACE, NOTIFY) or dropped
//! towards *less* access with a warning; the result is re-checked and a rule the
//! checker refuses is dropped with a warning, so the text returned always checks.

use crate::check::{check_file, Options};
use crate::span::SourceMap;
use claw_stdlib::{errno, Arch, ArgKind, SyscallTable};
use serde_json::Value;

/// A problem that stops the import, at a JSON path (`$.syscalls[3].action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// Where in the JSON (`$.syscalls[3].action`).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// How to import a profile.
pub struct ImportOptions {
    /// The architecture whose syscalls the profile is read for.
    pub arch: Arch,
    /// Capabilities the container has (`CAP_SYS_ADMIN`), for `includes`/`excludes`.
    pub caps: Vec<String>,
    /// The policy's name.
    pub name: String,
    /// Where the profile came from, for the header comment.
    pub source: String,
}

/// The policy's source text and what was dropped or changed on the way.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The policy's source text.
    pub source: String,
    /// What was dropped or changed, one line each.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Allow,
    Log,
    Errno(u16),
    Kill,
}

impl Act {
    fn claw(self) -> String {
        match self {
            Act::Allow => "allow".into(),
            Act::Log => "log".into(),
            Act::Errno(e) => match errno::by_value(e) {
                Some(n) if e != 0 => format!("deny({})", n.name),
                _ => format!("deny({e})"),
            },
            Act::Kill => "kill".into(),
        }
    }
}

/// One Claw rule: an action on one syscall with conditions (`arg1 & 0xff == 2`).
#[derive(Debug, Clone)]
struct Rule {
    act: Act,
    name: String,
    conds: Vec<String>,
    origin: String,
}

fn err(path: &str, message: impl Into<String>) -> ImportError {
    ImportError {
        path: path.to_string(),
        message: message.into(),
    }
}

fn action(
    v: Option<&Value>,
    errno_ret: Option<&Value>,
    (path, errno_path): (&str, &str),
    warnings: &mut Vec<String>,
) -> Result<Act, ImportError> {
    let Some(v) = v else {
        return Err(err(path, "missing"));
    };
    let name = v
        .as_str()
        .ok_or_else(|| err(path, "an action is a string such as \"SCMP_ACT_ALLOW\""))?;
    Ok(match name {
        "SCMP_ACT_ALLOW" => Act::Allow,
        "SCMP_ACT_LOG" => Act::Log,
        "SCMP_ACT_ERRNO" => {
            let e = match errno_ret {
                None | Some(Value::Null) => 1,
                Some(n) => n
                    .as_u64()
                    .filter(|n| *n <= u64::from(errno::MAX_ERRNO))
                    .ok_or_else(|| err(errno_path, "an errno is a number from 0 to 4095"))?,
            };
            Act::Errno(e as u16)
        }
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_PROCESS" => Act::Kill,
        "SCMP_ACT_KILL_THREAD" => {
            warnings.push(format!(
                "{path}: SCMP_ACT_KILL_THREAD becomes `kill` (the whole process): killing one thread of an adversarial process leaves the others running"
            ));
            Act::Kill
        }
        "SCMP_ACT_TRAP" | "SCMP_ACT_TRACE" => {
            return Err(err(
                path,
                format!(
                    "{name} is refused: it hands the syscall to a signal handler or a tracer, which run with the agent's own authority; use deny(ERRNO) or kill, or verb rules for what the monitor should decide"
                ),
            ))
        }
        "SCMP_ACT_NOTIFY" => {
            return Err(err(
                path,
                "SCMP_ACT_NOTIFY is refused: in Claw the monitor is clawless's own; write verb rules (`allow read PATHS`) for what it should decide",
            ))
        }
        other => return Err(err(path, format!("unknown action `{other}`"))),
    })
}

fn arch_names(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 => &["amd64", "x86_64", "SCMP_ARCH_X86_64"],
        Arch::Aarch64 => &["arm64", "aarch64", "SCMP_ARCH_AARCH64"],
    }
}

fn strings(v: Option<&Value>, path: &str) -> Result<Vec<String>, ImportError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err(&format!("{path}[{i}]"), "expected a string"))
            })
            .collect(),
        Some(_) => Err(err(path, "expected a list of strings")),
    }
}

/// Does a rule with these `includes`/`excludes` apply to this arch and these caps?
/// `None` with the reason when it does not.
fn applies(rule: &Value, path: &str, opts: &ImportOptions) -> Result<Option<String>, ImportError> {
    let here = arch_names(opts.arch);
    if let Some(inc) = rule.get("includes").filter(|v| !v.is_null()) {
        let p = format!("{path}.includes");
        if !inc.is_object() {
            return Err(err(&p, "expected an object"));
        }
        let arches = strings(inc.get("arches"), &format!("{p}.arches"))?;
        if !arches.is_empty() && !arches.iter().any(|a| here.contains(&a.as_str())) {
            return Ok(Some(format!("only for {}", arches.join(", "))));
        }
        let caps = strings(inc.get("caps"), &format!("{p}.caps"))?;
        let missing: Vec<&String> = caps.iter().filter(|c| !opts.caps.contains(c)).collect();
        if !missing.is_empty() {
            return Ok(Some(format!(
                "only with {} (pass --cap to include it)",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        if let Some(k) = inc.get("minKernel").filter(|v| !v.is_null()) {
            if !k.is_string() {
                return Err(err(&format!("{p}.minKernel"), "expected a version string"));
            }
        }
    }
    if let Some(exc) = rule.get("excludes").filter(|v| !v.is_null()) {
        let p = format!("{path}.excludes");
        if !exc.is_object() {
            return Err(err(&p, "expected an object"));
        }
        let arches = strings(exc.get("arches"), &format!("{p}.arches"))?;
        if arches.iter().any(|a| here.contains(&a.as_str())) {
            return Ok(Some(format!("excluded on {}", arches.join(", "))));
        }
        let caps = strings(exc.get("caps"), &format!("{p}.caps"))?;
        if let Some(c) = caps.iter().find(|c| opts.caps.contains(c)) {
            return Ok(Some(format!("excluded with {c}")));
        }
    }
    Ok(None)
}

/// A number as written in the policy: decimal when small, hex otherwise (masks).
fn num(v: u64) -> String {
    if v < 4096 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// A condition as Claw text, or why it cannot be written (then the rule is
/// dropped if it grants, or widened if it refuses).
fn condition(
    a: &Value,
    path: &str,
    sc: &claw_stdlib::Syscall,
) -> Result<(usize, Result<String, String>), ImportError> {
    if !a.is_object() {
        return Err(err(path, "expected an object with index, value, op"));
    }
    let index =
        a.get("index")
            .and_then(Value::as_u64)
            .filter(|i| *i < 6)
            .ok_or_else(|| err(&format!("{path}.index"), "an argument index from 0 to 5"))? as usize;
    let value = a
        .get("value")
        .and_then(Value::as_u64)
        .ok_or_else(|| err(&format!("{path}.value"), "expected an unsigned 64-bit number"))?;
    let two = match a.get("valueTwo") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| err(&format!("{path}.valueTwo"), "expected an unsigned 64-bit number"))?,
    };
    let op = a.get("op").and_then(Value::as_str).ok_or_else(|| {
        err(
            &format!("{path}.op"),
            "expected an operator such as \"SCMP_CMP_EQ\"",
        )
    })?;
    let (v, t) = (num(value), num(two));
    let text = match op {
        "SCMP_CMP_EQ" => format!("arg{index} == {v}"),
        "SCMP_CMP_NE" => format!("arg{index} != {v}"),
        "SCMP_CMP_LT" => format!("arg{index} < {v}"),
        "SCMP_CMP_LE" => format!("arg{index} <= {v}"),
        "SCMP_CMP_GT" => format!("arg{index} > {v}"),
        "SCMP_CMP_GE" => format!("arg{index} >= {v}"),
        "SCMP_CMP_MASKED_EQ" => format!("arg{index} & {v} == {t}"),
        other => return Err(err(&format!("{path}.op"), format!("unknown operator `{other}`"))),
    };
    let Some(arg) = sc.args.get(index) else {
        return Ok((index, Err(format!("`{}` has no argument {index}", sc.name))));
    };
    if arg.kind == ArgKind::Ptr {
        return Ok((
            index,
            Err(format!(
                "argument {index} of `{}` is a pointer (a filter sees the address, not the memory)",
                sc.name
            )),
        ));
    }
    let bits = arg.kind.bits();
    let fits = |v: u64| bits >= 64 || v >> bits == 0;
    let masked = op == "SCMP_CMP_MASKED_EQ";
    if !fits(if masked { two } else { value }) {
        return Ok((
            index,
            Err(format!(
                "{value:#x} does not fit argument {index} of `{}`, which the kernel reads as {bits} bits",
                sc.name
            )),
        ));
    }
    let text = if masked && !fits(value) {
        // Mask bits above the argument's width test nothing the kernel reads.
        let m = value & ((1u64 << bits) - 1);
        format!("arg{index} & {} == {t}", num(m))
    } else {
        text
    };
    Ok((index, Ok(text)))
}

/// Reads the profile; warnings collect what is dropped or changed.
fn rules_of(
    json: &Value,
    opts: &ImportOptions,
    warnings: &mut Vec<String>,
) -> Result<(Act, Vec<Rule>), ImportError> {
    let root = json
        .as_object()
        .ok_or_else(|| err("$", "a seccomp profile is a JSON object"))?;
    let default = action(
        root.get("defaultAction"),
        root.get("defaultErrnoRet"),
        ("$.defaultAction", "$.defaultErrnoRet"),
        warnings,
    )?;
    let table = SyscallTable::get(opts.arch);

    let mut arches = strings(root.get("architectures"), "$.architectures")?;
    if let Some(map) = root.get("archMap").filter(|v| !v.is_null()) {
        let list = map
            .as_array()
            .ok_or_else(|| err("$.archMap", "expected a list"))?;
        for (i, m) in list.iter().enumerate() {
            let p = format!("$.archMap[{i}]");
            let a = m
                .get("architecture")
                .and_then(Value::as_str)
                .ok_or_else(|| err(&format!("{p}.architecture"), "expected a string"))?;
            arches.push(a.to_string());
            arches.extend(strings(
                m.get("subArchitectures"),
                &format!("{p}.subArchitectures"),
            )?);
        }
    }
    let target = arch_names(opts.arch)[2];
    if !arches.is_empty() && !arches.iter().any(|a| a == target) {
        warnings.push(format!(
            "$.architectures: the profile does not list {target}; imported for it anyway"
        ));
    }
    let others: Vec<&String> = arches.iter().filter(|a| a.as_str() != target).collect();
    if !others.is_empty() {
        warnings.push(format!(
            "$.architectures: {} dropped: a Claw filter is for one architecture and kills every other (and x32)",
            others.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(f) = root
        .get("flags")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty())
    {
        warnings.push(format!(
            "$.flags: {f:?} dropped: clawless installs its filter with its own flags"
        ));
    }
    if root.get("listenerPath").is_some_and(|v| !v.is_null()) {
        warnings.push("$.listenerPath dropped: clawless is the listener".into());
    }

    let mut out = Vec::new();
    let syscalls = match root.get("syscalls") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(err("$.syscalls", "expected a list")),
    };
    for (i, r) in syscalls.iter().enumerate() {
        let path = format!("$.syscalls[{i}]");
        if !r.is_object() {
            return Err(err(&path, "expected an object"));
        }
        let mut names = strings(r.get("names"), &format!("{path}.names"))?;
        if let Some(n) = r.get("name").filter(|v| !v.is_null()) {
            names.push(
                n.as_str()
                    .ok_or_else(|| err(&format!("{path}.name"), "expected a string"))?
                    .to_string(),
            );
        }
        if names.is_empty() {
            return Err(err(&format!("{path}.names"), "a rule names at least one syscall"));
        }
        let act = action(
            r.get("action"),
            r.get("errnoRet"),
            (&format!("{path}.action"), &format!("{path}.errnoRet")),
            warnings,
        )?;
        let args = match r.get("args") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(err(&format!("{path}.args"), "expected a list")),
        };
        if let Some(why) = applies(r, &path, opts)? {
            warnings.push(format!("{path} ({}) dropped: {why}", names.join(", ")));
            continue;
        }
        for name in &names {
            let Some(sc) = table.by_name(name) else {
                warnings.push(format!(
                    "{path}: `{name}` is not a syscall on {} (skipped, as runc skips it)",
                    opts.arch
                ));
                continue;
            };
            let mut conds: Vec<(usize, String)> = Vec::new();
            let mut inexpressible: Option<String> = None;
            for (j, a) in args.iter().enumerate() {
                let (index, c) = condition(a, &format!("{path}.args[{j}]"), sc)?;
                match c {
                    Ok(text) => conds.push((index, text)),
                    Err(why) => inexpressible = Some(why),
                }
            }
            if let Some(why) = inexpressible {
                if matches!(act, Act::Allow | Act::Log) {
                    warnings.push(format!("{path}: `{name}` rule dropped (less access): {why}"));
                    continue;
                }
                warnings.push(format!(
                    "{path}: `{name}` is refused whatever its arguments (more refusal than the profile): {why}"
                ));
                conds.clear();
            }
            let origin = path.clone();
            let same_index = conds.len() > 1 && conds.iter().all(|(k, _)| *k == conds[0].0);
            if same_index {
                // runc: several conditions on one argument are alternatives.
                for (_, c) in conds {
                    out.push(Rule {
                        act,
                        name: name.clone(),
                        conds: vec![c],
                        origin: origin.clone(),
                    });
                }
            } else {
                out.push(Rule {
                    act,
                    name: name.clone(),
                    conds: conds.into_iter().map(|(_, c)| c).collect(),
                    origin,
                });
            }
        }
    }
    Ok((default, out))
}

/// A binding name for a group of unconditional rules.
fn group_name(act: Act) -> String {
    match act {
        Act::Allow => "allowed".into(),
        Act::Log => "logged".into(),
        Act::Errno(e) => match errno::by_value(e) {
            Some(n) if e != 0 => format!("denied_{}", n.name.to_lowercase()),
            _ => format!("denied_{e}"),
        },
        Act::Kill => "killed".into(),
    }
}

/// The policy text, one rule per line; `lines[k]` is the rule index written on
/// line `k` (0-based), if any.
fn render(
    default: Act,
    rules: &[Rule],
    opts: &ImportOptions,
    warnings: &[String],
) -> (String, Vec<Option<usize>>) {
    let mut text = String::new();
    let mut lines: Vec<Option<usize>> = Vec::new();
    let mut push = |text: &mut String, line: String, rule: Option<usize>| {
        text.push_str(&line);
        text.push('\n');
        lines.push(rule);
    };
    push(
        &mut text,
        format!(
            "// Imported by `clawc import` from {} for {}.",
            opts.source, opts.arch
        ),
        None,
    );
    for w in warnings {
        push(&mut text, format!("// dropped or changed: {w}"), None);
    }
    push(&mut text, format!("policy {} {{", opts.name), None);
    push(&mut text, format!("    default {};", default.claw()), None);
    // Unconditional rules, grouped by action, as `let` bindings of syscall lists.
    let mut groups: Vec<(Act, Vec<(usize, &str)>)> = Vec::new();
    for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.conds.is_empty()) {
        match groups.iter_mut().find(|(a, _)| *a == r.act) {
            Some((_, v)) => {
                if !v.iter().any(|(_, n)| *n == r.name) {
                    v.push((i, &r.name))
                }
            }
            None => groups.push((r.act, vec![(i, &r.name)])),
        }
    }
    for (act, names) in &groups {
        push(
            &mut text,
            format!("    let {} = syscalls [", group_name(*act)),
            None,
        );
        for (i, n) in names {
            push(&mut text, format!("        {n},"), Some(*i));
        }
        push(&mut text, "    ];".into(), None);
    }
    push(&mut text, "    always {".into(), None);
    for (act, _) in &groups {
        push(
            &mut text,
            format!("        {} {};", act.claw(), group_name(*act)),
            None,
        );
    }
    for (i, r) in rules.iter().enumerate().filter(|(_, r)| !r.conds.is_empty()) {
        push(
            &mut text,
            format!(
                "        {} {}({});  // {}",
                r.act.claw(),
                r.name,
                r.conds.join(", "),
                r.origin
            ),
            Some(i),
        );
    }
    push(&mut text, "    }".into(), None);
    push(&mut text, "}".into(), None);
    (text, lines)
}

/// Converts a profile. The text returned checks (errors only; warnings such as
/// W0005 may remain, and are the policy's).
pub fn import_oci(json: &str, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let value: Value = serde_json::from_str(json).map_err(|e| {
        err(
            &format!("line {}, column {}", e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    let mut warnings = Vec::new();
    let (default, mut rules) = rules_of(&value, opts, &mut warnings)?;
    // Re-check, dropping rules the checker refuses (a condition that can never
    // hold, the same syscall denied with two errnos), until it checks.
    for _ in 0..=rules.len() {
        let (text, lines) = render(default, &rules, opts, &warnings);
        let mut sources = SourceMap::new();
        let file = sources.add(format!("{}.claw", opts.name), text.clone());
        let checked = check_file(
            &mut sources,
            file,
            &Options {
                arch: opts.arch,
                require_policy: true,
            },
        );
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.code.starts_with('E'))
            .collect();
        let Some(first) = errors.first() else {
            let source = crate::format::format(&text).unwrap_or(text);
            return Ok(Imported { source, warnings });
        };
        let (line, _) = sources.get(file).line_col(first.span.start as usize);
        let Some(Some(k)) = lines.get(line) else {
            return Err(err(
                "$",
                format!(
                    "the imported policy does not check: {} {}",
                    first.code, first.message
                ),
            ));
        };
        let r = rules.remove(*k);
        warnings.push(format!(
            "{}: `{}` rule dropped: {} ({})",
            r.origin, r.name, first.message, first.code
        ));
    }
    Err(err("$", "the imported policy does not check"))
}
