//! `clawless learn`: turns what a command did, as the monitor recorded it under the
//! learning filter, into a draft `.claw` policy. Paths are generalised into the
//! standard sets of `std::paths` (`workspace`, `system_ro`, `tmp`, `devices`,
//! `proc_info`, ...), a tool's directory under the home directory into one pattern
//! (`~/.cache/pip/**`, `~/.cargo/**`); syscalls into the groups of `std::groups`
//! they belong to; endpoints are listed as seen: by the name the sandbox's resolver
//! was asked for when that name's answer was the address (the forwarder's `dns`
//! records), else by address, with the port. Secrets read
//! are called out in comments. The draft is a starting point to review, not a
//! proof of anything: `clawc verify` proves what it says.
//!
//! It knows the standard sets only as the embedded standard library spells them
//! (read from its source), and nothing of how calls were decided.

use claw_ir::glob_match;
use std::collections::{BTreeMap, BTreeSet};

/// The embedded learn policy: everything allowed except `dangerous`.
pub const LEARN_POLICY: &str = "use std::groups::dangerous;\n\
\n\
// `clawless learn`: everything is allowed (and recorded under the learning\n\
// filter) except what must never be allowed, even while learning.\n\
policy learn {\n\
    default allow;\n\
    always {\n\
        kill dangerous;\n\
    }\n\
}\n";

/// What the draft is relative to.
pub struct Context {
    /// The workspace directory.
    pub workspace: String,
    /// The home directory, if known.
    pub home: Option<String>,
    /// The temporary directory, if set.
    pub tmpdir: Option<String>,
    /// The base policy taints on reading secrets: keep that.
    pub taint: bool,
    /// What the command was (for the header comment).
    pub command: String,
}

/// The string literals of `let NAME = path [...]` / `let NAME = syscalls [...]`
/// in a standard module's source, and the names it lists.
fn members(src: &str, name: &str) -> (Vec<String>, Vec<String>) {
    let key = format!("let {name} = ");
    let Some(start) = src.find(&key) else {
        return (vec![], vec![]);
    };
    let body = &src[start + key.len()..];
    let body = &body[..body.find(';').unwrap_or(body.len())];
    // Drop comments.
    let body: String = body
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut strings = Vec::new();
    let mut names = Vec::new();
    let mut rest = body.as_str();
    while let Some(q) = rest.find('"') {
        for w in rest[..q].split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !w.is_empty() && !matches!(w, "path" | "syscalls") {
                names.push(w.to_string());
            }
        }
        let after = &rest[q + 1..];
        let Some(end) = after.find('"') else { break };
        strings.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    for w in rest.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if !w.is_empty() && !matches!(w, "path" | "syscalls") {
            names.push(w.to_string());
        }
    }
    (strings, names)
}

fn module(name: &str) -> &'static str {
    claw_stdlib::modules::source(name).map_or("", |(_, s)| s)
}

/// A path set of `std::paths`, with its members' patterns (nested sets included).
fn path_set(name: &str) -> Vec<String> {
    let (mut pats, names) = members(module("std::paths"), name);
    for n in names {
        pats.extend(path_set(&n));
    }
    pats
}

/// A syscall group of `std::groups`, nested groups expanded.
fn group(name: &str, depth: u32) -> BTreeSet<String> {
    let (_, names) = members(module("std::groups"), name);
    let mut out = BTreeSet::new();
    for n in names {
        let (s, inner) = members(module("std::groups"), &n);
        if depth < 4
            && (!s.is_empty() || !inner.is_empty())
            && module("std::groups").contains(&format!("let {n} = "))
        {
            out.extend(group(&n, depth + 1));
        } else {
            out.insert(n);
        }
    }
    out
}

/// The groups of `std::groups` in file order.
fn group_names() -> Vec<String> {
    module("std::groups")
        .lines()
        .filter_map(|l| l.strip_prefix("let "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

impl Context {
    fn expand(&self, pattern: &str) -> Option<String> {
        if let Some(rest) = pattern.strip_prefix("~/") {
            return self.home.as_ref().map(|h| format!("{h}/{rest}"));
        }
        if let Some(rest) = pattern.strip_prefix("$WORKSPACE") {
            return Some(format!("{}{rest}", self.workspace));
        }
        if let Some(rest) = pattern.strip_prefix("$TMPDIR") {
            return self.tmpdir.as_ref().map(|t| format!("{t}{rest}"));
        }
        Some(pattern.to_string())
    }

    fn in_set(&self, set: &[String], path: &str) -> bool {
        set.iter()
            .filter_map(|p| self.expand(p))
            .any(|p| glob_match(&p, path))
    }

    /// The pattern a path not in any standard set is generalised to.
    fn generalise(&self, path: &str) -> String {
        if let Some(h) = &self.home {
            if let Some(rest) = path.strip_prefix(&format!("{h}/")) {
                let parts: Vec<&str> = rest.split('/').collect();
                return match parts.as_slice() {
                    [".cache" | ".config" | ".local", tool, _, ..] => format!("~/{}/{tool}/**", parts[0]),
                    [dir, _, ..] => format!("~/{dir}/**"),
                    _ => format!("~/{rest}"),
                };
            }
        }
        if let Some(rest) = path.strip_prefix("/proc/") {
            let mut it = rest.splitn(2, '/');
            if let (Some(pid), Some(tail)) = (it.next(), it.next()) {
                if pid.bytes().all(|b| b.is_ascii_digit()) {
                    return format!("/proc/*/{tail}");
                }
            }
        }
        path.to_string()
    }
}

/// One thing the command did.
#[derive(Default)]
struct Seen {
    /// Path class or pattern → verbs.
    paths: BTreeMap<String, BTreeSet<String>>,
    /// Paths only ever looked at (`visible`) outside every other set.
    only_visible: bool,
    secrets: BTreeSet<String>,
    syscalls: BTreeSet<String>,
    /// Verb → endpoints.
    endpoints: BTreeMap<String, BTreeSet<String>>,
    killed: BTreeSet<String>,
}

/// `tcp 1.2.3.4:443` → `endpoint tcp "1.2.3.4" port 443`, or `endpoint tcp
/// "NAME" port 443` when the resolver answered a query for NAME with that address
/// (`names`: address → the name asked for).
fn endpoint(addr: &str, names: &BTreeMap<String, String>) -> Option<String> {
    let (kind, rest) = addr.split_once(' ')?;
    match kind {
        "tcp" | "udp" => {
            let sa: std::net::SocketAddr = rest.parse().ok()?;
            let host = names
                .get(&sa.ip().to_string())
                .cloned()
                .unwrap_or_else(|| sa.ip().to_string());
            Some(format!("endpoint {kind} \"{host}\" port {}", sa.port()))
        }
        "unix" => Some(format!("endpoint unix \"{}\"", rest.replace('"', "\\\""))),
        _ => None,
    }
}

fn quote(p: &str) -> String {
    format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes the draft policy for the audit records `log` (JSON lines).
pub fn draft(log: &str, ctx: &Context) -> String {
    let sets: Vec<(&str, Vec<String>)> = ["tmp", "devices", "proc_info", "dev_config", "system_ro"]
        .iter()
        .map(|n| (*n, path_set(n)))
        .collect();
    let secrets = path_set("secrets");
    let mut seen = Seen::default();
    // What the sandbox's resolver answered: address → the name asked for (the
    // first, where several names share an address).
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for line in log.lines() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if r["syscall"] == "dns" && r["decision"] == "allow" {
            if let (Some(n), Some(ips)) = (r["args"]["name"].as_str(), r["args"]["answers"].as_array()) {
                for ip in ips.iter().filter_map(|i| i.as_str()) {
                    names.entry(ip.to_string()).or_insert_with(|| n.to_string());
                }
            }
        }
    }
    for line in log.lines() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(name) = r["syscall"].as_str() else {
            continue;
        };
        if name == "dns" {
            continue; // the resolver's records, read above
        }
        if r["decision"] == "kill" {
            seen.killed.insert(name.to_string());
            continue;
        }
        let accesses = r["accesses"].as_array().cloned().unwrap_or_default();
        if accesses.is_empty() {
            let verbs = claw_ir::mediation::of(name).map_or(&[][..], |m| m.verbs());
            if verbs.is_empty() && !name.starts_with("syscall ") {
                seen.syscalls.insert(name.to_string());
            }
            continue;
        }
        for a in accesses {
            let Some(verb) = a["verb"].as_str() else { continue };
            if let Some(path) = a["path"].as_str() {
                let class = if ctx.in_set(&secrets, path) && verb != "visible" {
                    seen.secrets.insert(path.to_string());
                    quote(path)
                } else if path == ctx.workspace || path.starts_with(&format!("{}/", ctx.workspace)) {
                    "workspace".to_string()
                } else if path == "/" {
                    "root".to_string()
                } else if let Some((n, _)) = sets.iter().find(|(_, s)| ctx.in_set(s, path)) {
                    n.to_string()
                } else if verb == "visible" {
                    seen.only_visible = true;
                    continue;
                } else {
                    quote(&ctx.generalise(path))
                };
                seen.paths.entry(class).or_default().insert(verb.to_string());
            } else if let Some(addr) = a["addr"].as_str() {
                if let Some(e) = endpoint(addr, &names) {
                    seen.endpoints.entry(verb.to_string()).or_default().insert(e);
                }
            }
        }
    }
    collapse(&mut seen.paths);
    render(&seen, ctx)
}

/// Literal paths outside every standard set, many under one directory (a build's
/// output), become that directory's `/**`, bottom-up; never above two levels
/// (`/work/x/**`) and never the home directory itself.
fn collapse(paths: &mut BTreeMap<String, BTreeSet<String>>) {
    for _ in 0..64 {
        let mut by_parent: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for k in paths.keys() {
            let Some(p) = k.strip_prefix('"').and_then(|k| k.strip_suffix('"')) else {
                continue;
            };
            let p = p.strip_suffix("/**").unwrap_or(p);
            if let Some((parent, _)) = p.rsplit_once('/') {
                if parent.matches('/').count() >= 2 || (parent.starts_with('~') && parent.contains('/')) {
                    by_parent.entry(parent.to_string()).or_default().push(k.clone());
                }
            }
        }
        let Some((parent, keys)) = by_parent
            .into_iter()
            .filter(|(_, ks)| ks.len() >= 3)
            .max_by_key(|(p, _)| p.len())
        else {
            return;
        };
        let mut verbs = BTreeSet::new();
        for k in keys {
            verbs.extend(paths.remove(&k).unwrap_or_default());
        }
        paths.entry(format!("\"{parent}/**\"")).or_default().extend(verbs);
    }
}

fn render(seen: &Seen, ctx: &Context) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "// Draft policy written by `clawless learn` for: {}\n\
         // Review it: every rule below is something the command did once.\n\
         use std::groups::*;\n\
         use std::paths::*;\n\n\
         policy learned {{\n\
         \x20   let workspace = path \"$WORKSPACE/**\";\n\
         \x20   default deny(EPERM);\n\
         \x20   always {{\n",
        ctx.command.replace('\n', " ")
    ));
    // Syscalls: whole groups where the recorded calls fall into one.
    let dangerous = group("dangerous", 0);
    let mut left: BTreeSet<String> = seen
        .syscalls
        .iter()
        .filter(|s| !dangerous.contains(*s) && s.as_str() != "ioctl")
        .cloned()
        .collect();
    let mut groups = Vec::new();
    for g in group_names() {
        if g == "dangerous" {
            continue;
        }
        let members = group(&g, 0);
        if members.is_empty() || members.iter().any(|m| dangerous.contains(m)) {
            continue;
        }
        if members.iter().any(|m| left.contains(m)) {
            left.retain(|m| !members.contains(m));
            groups.push(g);
        }
    }
    if !groups.is_empty() {
        out.push_str(&format!("        allow {};\n", groups.join(", ")));
    }
    if !left.is_empty() {
        out.push_str(&format!(
            "        allow {};\n",
            left.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if seen.syscalls.contains("ioctl") {
        out.push_str(
            "        allow ioctl;\n\
             \x20       deny(EACCES) ioctl(cmd == TIOCSTI);       // no typing into the terminal\n\
             \x20       deny(EACCES) ioctl(cmd == TIOCLINUX);\n",
        );
    }
    for (class, verbs) in &seen.paths {
        let mut verbs: Vec<&str> = verbs.iter().map(String::as_str).collect();
        if class == "workspace" {
            verbs = vec!["read", "write", "append", "visible", "exec"];
        }
        let target = if class.starts_with('"') {
            format!("path {class}")
        } else {
            class.clone()
        };
        let note = if seen.secrets.iter().any(|s| quote(s) == *class) {
            "   // a SECRET the command read: keep it only if it must"
        } else {
            ""
        };
        out.push_str(&format!("        allow {} {target};{note}\n", verbs.join(", ")));
    }
    // As the standard profiles do: stat anything, read nothing more. Tools look
    // for programs and files along search paths where most do not exist, and a
    // look at a missing path is not always recorded.
    let _ = seen.only_visible;
    out.push_str(
        "        allow visible everything;                      // stat anything, read nothing more\n",
    );
    if !seen.paths.contains_key("devices") {
        // `clawless` itself opens /dev/null in the sandbox before the command runs.
        out.push_str("        allow read, write, visible devices;            // /dev/null, terminals\n");
    }
    out.push_str("        kill dangerous;\n");
    if !seen.killed.is_empty() {
        out.push_str(&format!(
            "        // killed even while learning (std::groups::dangerous): {}\n",
            seen.killed.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    for s in &seen.secrets {
        out.push_str(&format!("        // read a secret: {s}\n"));
    }
    let net: Vec<String> = seen
        .endpoints
        .iter()
        .map(|(verb, es)| {
            format!(
                "allow {verb} [{}];",
                es.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    if ctx.taint {
        out.push_str("    }\n    state clean initial {\n");
        for n in &net {
            out.push_str(&format!("        {n}\n"));
        }
        out.push_str("        on read secrets -> tainted;\n    }\n    state tainted {\n    }\n");
        if !seen.secrets.is_empty() && !net.is_empty() {
            out.push_str("    // The command read a secret and used the network: after the read, the\n    // network is closed (as in the base policy).\n");
        }
        out.push_str(
            "    assert never connect after read secrets;\n    assert never send after read secrets;\n",
        );
    } else {
        for n in &net {
            out.push_str(&format!("        {n}\n"));
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(taint: bool) -> Context {
        Context {
            workspace: "/w".into(),
            home: Some("/home/u".into()),
            tmpdir: None,
            taint,
            command: "make".into(),
        }
    }

    #[test]
    fn the_standard_sets_are_read_from_the_library() {
        assert!(path_set("system_ro").contains(&"/usr/**".to_string()));
        assert!(path_set("secrets").iter().any(|p| p == "~/.ssh/**"));
        assert!(group("memory", 0).contains("mmap"));
        assert!(group("dangerous", 0).contains("ptrace"));
        assert!(group("net_server", 0).contains("listen"));
    }

    #[test]
    fn paths_syscalls_and_endpoints_are_generalised() {
        let log = [
            r#"{"syscall":"openat","decision":"allow","accesses":[{"verb":"read","path":"/usr/lib/x.so"}]}"#,
            r#"{"syscall":"openat","decision":"allow","accesses":[{"verb":"write","path":"/w/out.o"}]}"#,
            r#"{"syscall":"openat","decision":"allow","accesses":[{"verb":"read","path":"/home/u/.cache/pip/a/b"}]}"#,
            r#"{"syscall":"openat","decision":"allow","accesses":[{"verb":"read","path":"/home/u/.ssh/id"}]}"#,
            r#"{"syscall":"newfstatat","decision":"allow","accesses":[{"verb":"visible","path":"/srv/x"}]}"#,
            r#"{"syscall":"mmap","decision":"allow","args":{"registers":[0,0,0,0,0,0]}}"#,
            r#"{"syscall":"openat","decision":"allow","args":{}}"#,
            r#"{"syscall":"connect","decision":"allow","accesses":[{"verb":"connect","addr":"tcp 10.0.0.1:443"}]}"#,
            r#"{"syscall":"dns","decision":"allow","args":{"name":"pypi.org","type":"A","answers":["151.101.0.223"]}}"#,
            r#"{"syscall":"connect","decision":"allow","accesses":[{"verb":"connect","addr":"tcp 151.101.0.223:443"}]}"#,
            r#"{"syscall":"ptrace","decision":"kill"}"#,
            "not json",
        ]
        .join("\n");
        let d = draft(&log, &ctx(true));
        assert!(d.contains("allow read system_ro;"), "{d}");
        assert!(
            d.contains("allow read, write, append, visible, exec workspace;"),
            "{d}"
        );
        assert!(d.contains("allow read path \"~/.cache/pip/**\";"), "{d}");
        assert!(d.contains("read a secret: /home/u/.ssh/id"), "{d}");
        assert!(d.contains("allow visible everything;"), "{d}");
        assert!(d.contains("allow memory"), "{d}");
        assert!(
            !d.contains("allow openat"),
            "mediated calls are decided by verbs\n{d}"
        );
        assert!(
            d.contains(
                "allow connect [endpoint tcp \"10.0.0.1\" port 443, endpoint tcp \"pypi.org\" port 443];"
            ),
            "{d}"
        );
        assert!(!d.contains("allow dns"), "{d}");
        assert!(d.contains("on read secrets -> tainted;"), "{d}");
        assert!(
            d.contains("killed even while learning (std::groups::dangerous): ptrace"),
            "{d}"
        );
        let d = draft(&log, &ctx(false));
        assert!(!d.contains("tainted"), "{d}");
        let many: Vec<String> = (0..5)
            .map(|i| format!(r#"{{"syscall":"openat","decision":"allow","accesses":[{{"verb":"write","path":"/srv/out/deps/f{i}"}}]}}"#))
            .collect();
        let d = draft(&many.join("\n"), &ctx(false));
        assert!(d.contains("allow write path \"/srv/out/deps/**\";"), "{d}");
        assert!(!d.contains("f1"), "{d}");
    }
}
