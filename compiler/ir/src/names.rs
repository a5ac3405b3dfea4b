//! Secret names on the file system: the facts, beyond a request's own paths, that
//! decide whether an object is a secret. A file is a secret if **any of its
//! names** matches a secret pattern (a pattern of a rule that restricts `read`,
//! or of an `on read` event), where a name is
//!
//! - a path that reaches it by hard link (another directory entry of the same
//!   inode), or
//! - a symlink, or chain of symlinks, whose *own* path matches: `ws/.env ->
//!   config/dev-settings`, `~/.aws/credentials -> ~/dotfiles/aws-credentials`; a
//!   link to a directory (`~/.aws -> ~/dotfiles/aws`) names every path below its
//!   target (`~/dotfiles/aws/credentials` is named `~/.aws/credentials`).
//!
//! A read of an object is decided on its canonical path **and** on every secret
//! name of it known here ([`SecretNames::names_of`]), as one request: allowed only
//! if all are, and an `on read` event of any of them fires. This module is the one
//! place both the runtime (at the session's start, and for links the agent
//! creates) and `clawc explain` (on the file system it runs on) find those names,
//! so they agree.
//!
//! What it finds: at most [`MAX_LISTED`] entries, [`MAX_DEPTH`] levels deep,
//! below each secret pattern's literal directory (`~/.ssh` of `~/.ssh/id_*`), and,
//! for patterns with no literal directory (`/**/.env*`), below the workspace (the
//! whole file system cannot be listed). Every symlink met there is followed (at
//! most [`MAX_HOPS`] hops): a link to a file is a name of that file when its own
//! path matches; a link to a directory is remembered as a name of the directory,
//! and the directory is listed under that name, where a pattern could name a
//! path below it otherwise than its canonical path does (`/**/.env` cannot). The
//! literal directories are listed before the workspace. A dangling link is remembered by
//! the path it would reach, so a file created there later is named too. What it
//! does not know: names outside those trees (a `.env` link in a directory that is
//! neither the workspace nor below a literal directory), entries past the bounds,
//! bind mounts and copies, and names made after the listing by anyone but the
//! caller (who adds the agent's own links with [`SecretNames::learn_link`]).

use crate::{Entity, Env, Ir, Matcher, Verb};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `name` for a message: a long one cut in the middle.
fn shown(name: &str) -> String {
    if name.len() <= 160 {
        return name.to_string();
    }
    let head = (0..=80).rev().find(|i| name.is_char_boundary(*i)).unwrap_or(0);
    let tail = (name.len() - 60..name.len())
        .find(|i| name.is_char_boundary(*i))
        .unwrap_or(name.len());
    format!("{}...{}", &name[..head], &name[tail..])
}

/// The most entries listed, over all roots.
pub const MAX_LISTED: usize = 65_536;

/// The deepest the listing goes below a root.
pub const MAX_DEPTH: usize = 16;

/// The most names remembered for one canonical path.
pub const MAX_NAMES: usize = 8;

/// The most symlinks followed to reach one target (the kernel's `MAXSYMLINKS`).
pub const MAX_HOPS: usize = 40;

/// The secret names found on the file system (see the module doc).
#[derive(Debug, Default, Clone)]
pub struct SecretNames {
    /// The secret patterns, expanded.
    patterns: Vec<String>,
    /// The patterns by their last component, which a name's last component
    /// must match (unless it is `**`): most names fail there.
    lasts: Lasts,
    /// Files by identity `(dev, inode)`: the secret name each was found under.
    by_id: HashMap<(u64, u64), String>,
    /// Canonical paths (files, directories, or where a dangling link ends) and
    /// the names symlinks give each.
    by_path: BTreeMap<String, Vec<String>>,
    /// Where the listing stopped short of the model (a bound reached), if it
    /// did: names past that point are not known (see [`Self::incomplete`]).
    incomplete: Option<String>,
}

/// Secret patterns indexed by their last component (indices into `patterns`).
#[derive(Debug, Default, Clone)]
struct Lasts {
    /// A literal last component, with its leading `/` (`/.npmrc`).
    literal: HashMap<String, Vec<usize>>,
    /// A last component with wildcards, as a one-component pattern (`/.env*`).
    wild: Vec<(String, usize)>,
    /// Patterns ending in `**` (they match any last component).
    any: Vec<usize>,
    /// Each pattern's literal directory ([`literal_dir`]): a name it matches is
    /// at or below it.
    dirs: Vec<String>,
}

/// The secret patterns of `ir`: those of every rule that does not allow and names
/// `read`, and of every `on read` event (unexpanded).
pub fn secret_patterns(ir: &Ir) -> Vec<String> {
    let reads = |m: &Matcher| match m {
        Matcher::Access {
            verbs,
            entity: Entity::Paths(ps),
        } if verbs.contains(&Verb::Read) => ps.clone(),
        _ => Vec::new(),
    };
    let mut patterns: Vec<String> = Vec::new();
    for r in ir.rules.iter().filter(|r| !r.action.is_allowing()) {
        patterns.extend(reads(&r.matcher));
    }
    for t in &ir.transitions {
        patterns.extend(reads(&t.event));
    }
    patterns.sort();
    patterns.dedup();
    patterns
}

/// The longest leading run of components of `pattern` with no wildcard (`/` for
/// none).
pub fn literal_dir(pattern: &str) -> String {
    let mut out = String::new();
    for c in pattern.split('/').filter(|c| !c.is_empty()) {
        if c.contains(['*', '?']) {
            break;
        }
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        "/".into()
    } else {
        out
    }
}

/// `path` with `.`, `..` and empty components removed, lexically (no symlink
/// is looked at: `/a/l/..` is `/a` whatever `l` is).
pub fn lexical(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Where following the symlink at `link` ends: the canonical path of what it
/// reaches, or, for a dangling chain, the path the last link names (its
/// directory made canonical where it exists). `None` for a loop or past
/// [`MAX_HOPS`].
pub fn link_end(link: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(link) {
        return Some(p);
    }
    let mut here = link.to_path_buf();
    for _ in 0..MAX_HOPS {
        match std::fs::symlink_metadata(&here) {
            Ok(md) if md.file_type().is_symlink() => {
                let target = std::fs::read_link(&here).ok()?;
                let dir = here.parent().unwrap_or(Path::new("/"));
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
                here = PathBuf::from(lexical(&dir.join(target).to_string_lossy()));
            }
            Ok(_) => return std::fs::canonicalize(&here).ok(),
            Err(_) => {
                // Dangling: its directory made canonical where it exists.
                let name = here.file_name()?.to_owned();
                let dir = here.parent().unwrap_or(Path::new("/"));
                return Some(match std::fs::canonicalize(dir) {
                    Ok(d) => d.join(name),
                    Err(_) => here,
                });
            }
        }
    }
    None
}

/// The links a chain from the symlink `link` passes through after `link` itself,
/// each by its canonical directory and name (at most [`MAX_HOPS`]): what the
/// chain's name also names, should one of them be replaced (red team round 6,
/// `relinked-chain`: `.env -> hop -> draft`, then `hop` made again to
/// `notes.txt`).
fn link_hops(link: &Path) -> Vec<PathBuf> {
    let mut hops = Vec::new();
    let mut here = link.to_path_buf();
    for _ in 0..MAX_HOPS {
        match std::fs::symlink_metadata(&here) {
            Ok(md) if md.file_type().is_symlink() => {
                let Ok(target) = std::fs::read_link(&here) else {
                    break;
                };
                let dir = here.parent().unwrap_or(Path::new("/"));
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
                here = PathBuf::from(lexical(&dir.join(target).to_string_lossy()));
                if std::fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink()) {
                    let parent = here.parent().unwrap_or(Path::new("/"));
                    let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
                    match here.file_name() {
                        Some(n) => hops.push(parent.join(n)),
                        None => break,
                    }
                }
            }
            _ => break,
        }
    }
    hops
}

impl SecretNames {
    /// Lists the secret names of `ir`'s secret patterns on this file system (see
    /// the module doc).
    pub fn discover(ir: &Ir, env: &Env) -> SecretNames {
        let patterns: Vec<String> = secret_patterns(ir).iter().filter_map(|p| env.expand(p)).collect();
        SecretNames::discover_patterns(patterns, env.get("WORKSPACE"))
    }

    /// [`Self::discover`] for expanded secret patterns, listing `workspace` for
    /// those with no literal directory.
    pub fn discover_patterns(patterns: Vec<String>, workspace: Option<&str>) -> SecretNames {
        let mut roots: Vec<String> = Vec::new();
        let mut anywhere = false;
        for p in &patterns {
            let root = literal_dir(p);
            if root != "/" {
                roots.push(root);
            } else {
                anywhere = true;
            }
        }
        roots.sort();
        roots.dedup();
        // The literal directories first: a large workspace does not use up the
        // bound before `~/.ssh` is listed.
        if let Some(ws) = workspace.filter(|_| anywhere) {
            let ws = lexical(ws);
            if !roots.contains(&ws) {
                roots.push(ws);
            }
        }
        let mut names = SecretNames::with_patterns(patterns);
        let mut budget = MAX_LISTED;
        let mut seen = HashSet::new();
        for root in roots {
            names.list_root(&root, &mut budget, &mut seen);
        }
        names
    }

    /// An empty set that knows `patterns` (expanded), for names learnt later.
    pub fn with_patterns(patterns: Vec<String>) -> SecretNames {
        let mut lasts = Lasts {
            dirs: patterns.iter().map(|p| literal_dir(p)).collect(),
            ..Lasts::default()
        };
        for (i, p) in patterns.iter().enumerate() {
            let last = p.rsplit('/').next().unwrap_or("");
            if last == "**" {
                lasts.any.push(i);
            } else if last.contains(['*', '?']) {
                lasts.wild.push((format!("/{last}"), i));
            } else {
                lasts.literal.entry(format!("/{last}")).or_default().push(i);
            }
        }
        SecretNames {
            patterns,
            lasts,
            ..SecretNames::default()
        }
    }

    /// Does `name` match a secret pattern? Only the patterns whose last
    /// component can match the name's are tried: a table look-up for literal
    /// ones (`.npmrc`), a one-component match for wildcards (`.env*`), and those
    /// ending in `**`; each only if the name is below its literal directory.
    /// (The listing asks this of every entry it meets.)
    pub fn is_secret_name(&self, name: &str) -> bool {
        let tail = name.rfind('/').map_or(name, |i| &name[i..]);
        // The literal directory first (a string prefix; the glob also takes
        // `//` as `/`, so such a name skips this test).
        let lexical = !name.contains("//");
        let under = |dir: &str| {
            dir == "/"
                || !lexical
                || (name.starts_with(dir) && matches!(name.as_bytes().get(dir.len()), None | Some(b'/')))
        };
        let full = |i: usize| under(&self.lasts.dirs[i]) && crate::glob_match(&self.patterns[i], name);
        self.lasts
            .literal
            .get(tail)
            .is_some_and(|ix| ix.iter().any(|&i| full(i)))
            || self
                .lasts
                .wild
                .iter()
                .any(|(l, i)| crate::glob_match(l, tail) && full(*i))
            || self.lasts.any.iter().any(|&i| full(i))
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty() && self.by_path.is_empty()
    }

    /// Where the listing was cut short by a bound ([`MAX_LISTED`] entries,
    /// [`MAX_DEPTH`] levels), if it was: a secret name past that point (a
    /// secret-named symlink, a hard link of a secret) is not known, so a read
    /// through the other name is decided on its own path alone. The runtime and
    /// `clawc explain` say so; the model ("any name") does not have the bound.
    pub fn incomplete(&self) -> Option<&str> {
        self.incomplete.as_deref()
    }

    fn cut_short(&mut self, why: impl FnOnce() -> String) {
        if self.incomplete.is_none() {
            self.incomplete = Some(why());
        }
    }

    /// The secret files known by identity: `(dev, inode)` and the name each was
    /// found under.
    pub fn files(&self) -> impl Iterator<Item = (&(u64, u64), &String)> {
        self.by_id.iter()
    }

    /// The objects named by a symlink: the canonical path each link reaches and
    /// the link's path.
    pub fn linked(&self) -> impl Iterator<Item = (&String, &String)> {
        self.by_path
            .iter()
            .flat_map(|(p, ns)| ns.iter().map(move |n| (p, n)))
    }

    /// Records `name` as a name of the canonical path `path` (at most
    /// [`MAX_NAMES`] each).
    fn name_path(&mut self, path: String, name: &str) {
        let names = self.by_path.entry(path).or_default();
        if names.len() < MAX_NAMES && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }

    /// The root `root` of a listing: made canonical (a root reached through a
    /// symlink, `~/.ssh -> dotfiles/ssh`, names its target), then listed.
    fn list_root(&mut self, root: &str, budget: &mut usize, seen: &mut HashSet<(u64, u64)>) {
        let Ok(real) = std::fs::canonicalize(root) else {
            // Missing, or a dangling link: the path it would reach.
            if let Some(end) = link_end(Path::new(root)) {
                let end = end.to_string_lossy().into_owned();
                if end != root {
                    self.name_path(end, root);
                }
            }
            return;
        };
        let real_s = real.to_string_lossy().into_owned();
        if real_s != root {
            self.name_path(real_s, root);
        }
        self.list(&real, root, 0, budget, seen);
    }

    /// Lists `real` (a path on the file system) under the name `name`.
    fn list(
        &mut self,
        real: &Path,
        name: &str,
        depth: usize,
        budget: &mut usize,
        seen: &mut HashSet<(u64, u64)>,
    ) {
        if *budget == 0 {
            self.cut_short(|| format!("the listing reached its bound of entries at {}", shown(name)));
            return;
        }
        *budget -= 1;
        let Ok(md) = std::fs::symlink_metadata(real) else {
            return;
        };
        if md.file_type().is_symlink() {
            self.follow(real, name, depth, budget, seen);
            return;
        }
        if md.is_file() {
            if self.is_secret_name(name) {
                self.by_id
                    .entry((md.dev(), md.ino()))
                    .or_insert_with(|| name.to_string());
            }
            return;
        }
        if !md.is_dir() || !seen.insert((md.dev(), md.ino())) {
            return;
        }
        if depth >= MAX_DEPTH {
            seen.remove(&(md.dev(), md.ino()));
            self.cut_short(|| {
                format!(
                    "{} is more than {MAX_DEPTH} levels below where the listing began",
                    shown(name)
                )
            });
            return;
        }
        let Ok(entries) = std::fs::read_dir(real) else {
            return;
        };
        for e in entries.flatten() {
            if *budget == 0 {
                self.cut_short(|| format!("the listing reached its bound of entries in {}", shown(name)));
                return;
            }
            let child = format!(
                "{}/{}",
                name.trim_end_matches('/'),
                e.file_name().to_string_lossy()
            );
            // The entry's type from the directory itself (no `stat`): a regular
            // file with no secret's name is what most entries are.
            if e.file_type().is_ok_and(|t| t.is_file()) && !self.is_secret_name(&child) {
                *budget -= 1;
                continue;
            }
            self.list(&e.path(), &child, depth + 1, budget, seen);
        }
        // A directory may be seen again under another name (a second link).
        seen.remove(&(md.dev(), md.ino()));
    }

    /// The symlink at `real`, named `name`: a file it reaches is named by it when
    /// `name` is a secret's; a directory it reaches is named by it and listed
    /// under the name; a dangling link is remembered by where it ends.
    fn follow(
        &mut self,
        real: &Path,
        name: &str,
        depth: usize,
        budget: &mut usize,
        seen: &mut HashSet<(u64, u64)>,
    ) {
        let Some(end) = link_end(real) else { return };
        let end_s = end.to_string_lossy().into_owned();
        if self.is_secret_name(name) || self.could_name_below(name) {
            // Every link on the way is a place the name reaches: whatever is made
            // there later (another link, a file) has it too.
            for hop in link_hops(real) {
                self.name_path(hop.to_string_lossy().into_owned(), name);
            }
        }
        match std::fs::metadata(&end) {
            Ok(t) if t.is_file() => {
                if self.is_secret_name(name) {
                    self.by_id
                        .entry((t.dev(), t.ino()))
                        .or_insert_with(|| name.to_string());
                    self.name_path(end_s, name);
                }
            }
            Ok(t) if t.is_dir() => {
                if self.could_name_below(name) {
                    self.name_path(end_s, name);
                    self.list(&end, name, depth + 1, budget, seen);
                }
            }
            Ok(_) => {}
            Err(_) => {
                // Dangling: a file created where it ends later has this name.
                if self.is_secret_name(name) {
                    self.name_path(end_s, name);
                }
            }
        }
    }

    /// Could a symlink at `link` name anything ([`Self::learn_link`] would
    /// record something)? Its own path is a secret's, or a path below it could
    /// be, or it is a place a known name reaches (a link of a chain made again).
    pub fn may_name(&self, link: &str) -> bool {
        self.is_secret_name(link) || self.could_name_below(link) || self.is_place(link)
    }

    /// Whether a known name reaches `link` or a path below it (no copy made:
    /// asked of every symlink the agent makes).
    fn is_place(&self, link: &str) -> bool {
        let below = format!("{}/", link.trim_end_matches('/'));
        self.by_path
            .keys()
            .any(|k| k.as_str() == link || k.starts_with(&below))
    }

    /// The places at or below `link` that known names reach (a link of a chain,
    /// a dangling name's end whose directory the link now is), with their names.
    fn places_at(&self, link: &str) -> Vec<(String, Vec<String>)> {
        let below = format!("{}/", link.trim_end_matches('/'));
        self.by_path
            .iter()
            .filter(|(k, _)| k.as_str() == link || k.starts_with(&below))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Could a path at or below `dir` match a secret pattern? (A pattern's
    /// literal directory is at or below `dir`, or `dir` is below it: the pattern
    /// then has wildcards that may reach below.)
    fn could_name_below(&self, dir: &str) -> bool {
        let under = |a: &str, b: &str| a == b || a.starts_with(&format!("{}/", b.trim_end_matches('/')));
        self.patterns.iter().any(|p| {
            let root = literal_dir(p);
            if root == "/" {
                // `/**/.env`: a name below a directory link ends as the canonical
                // path does, so it matches only if that path does; a tail of
                // several components (`/**/.aws/credentials`) may differ.
                return p.strip_prefix("/**/").is_none_or(|tail| tail.contains('/'));
            }
            under(&root, dir) || (under(dir, &root) && root != p.as_str())
        })
    }

    /// Records the symlink `link` (its own path, canonical in its directory) the
    /// agent just made, as the listing would have found it (at most 4,096 entries
    /// below a linked directory). Returns everything it names (known before or
    /// not): files by identity with their name, and canonical paths with the
    /// link's name for them.
    #[allow(clippy::type_complexity)]
    pub fn learn_link(&mut self, link: &str) -> (Vec<((u64, u64), String)>, Vec<(String, String)>) {
        // The names other links give this place (it is a link of their chain) or
        // places below it (a dangling name's directory, made a link now: red
        // team round 7, outside-link-completed-later): followed again, through
        // the new link.
        let inherited = self.places_at(link);
        let mut fresh = SecretNames::with_patterns(Vec::new());
        std::mem::swap(&mut fresh.patterns, &mut self.patterns);
        std::mem::swap(&mut fresh.lasts, &mut self.lasts);
        let mut budget = 4096;
        if fresh.could_name_below(link) || fresh.is_secret_name(link) {
            fresh.follow(Path::new(link), link, 0, &mut budget, &mut HashSet::new());
        }
        for (place, names) in &inherited {
            for name in names {
                fresh.follow(Path::new(place), name, 0, &mut budget, &mut HashSet::new());
            }
        }
        std::mem::swap(&mut fresh.patterns, &mut self.patterns);
        std::mem::swap(&mut fresh.lasts, &mut self.lasts);
        if let Some(why) = fresh.incomplete.take() {
            self.cut_short(|| why);
        }
        // Everything the link names is returned, known before or not: a naming
        // refused once (and taken back) must be decided again when made again
        // (red team round 8, refused-link-made-again).
        let mut files = Vec::new();
        for (id, name) in fresh.by_id {
            self.by_id.entry(id).or_insert_with(|| name.clone());
            files.push((id, name));
        }
        let mut paths = Vec::new();
        for (path, names) in fresh.by_path {
            for name in names {
                let known = self.by_path.get(&path).is_some_and(|ns| ns.contains(&name));
                if !known {
                    self.name_path(path.clone(), &name);
                }
                paths.push((path.clone(), name));
            }
        }
        (files, paths)
    }

    /// The secret names of the object at canonical path `path` (with identity
    /// `id` when it exists), other than `path` itself: the name it was found
    /// under by identity, a link to it, or a link to a directory above it whose
    /// name for it matches a secret pattern. At most one per ancestor.
    pub fn names_of(&self, path: &str, id: Option<(u64, u64)>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |n: String| {
            if n != path && !out.contains(&n) {
                out.push(n);
            }
        };
        if let Some(n) = id.and_then(|id| self.by_id.get(&id)) {
            add(n.clone());
        }
        if self.by_path.is_empty() {
            return out;
        }
        // `path` itself, then each directory above it.
        let mut cut = path.len();
        loop {
            let (head, rest) = path.split_at(cut);
            for name in self.by_path.get(head).into_iter().flatten() {
                let candidate = format!("{name}{rest}");
                if self.is_secret_name(&candidate) {
                    add(candidate);
                }
            }
            match head.rfind('/') {
                Some(i) if i > 0 => cut = i,
                _ => break,
            }
        }
        out
    }

    /// [`Self::names_of`] for a canonical path on this file system: the object
    /// it names is its last component itself (a symlink there is the link, as
    /// the monitor resolves an `O_NOFOLLOW` open).
    pub fn names_of_path(&self, path: &str) -> Vec<String> {
        let id = std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()));
        self.names_of(path, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("claw-names-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::canonicalize(&d).unwrap()
    }

    fn listed(patterns: &[String], roots: &[&Path]) -> SecretNames {
        let mut n = SecretNames::with_patterns(patterns.to_vec());
        let mut budget = MAX_LISTED;
        let mut seen = HashSet::new();
        for r in roots {
            n.list_root(&r.to_string_lossy(), &mut budget, &mut seen);
        }
        n
    }

    /// Red team round 6 (relinked-chain): a link of a secret-named chain made
    /// again names its new end with the chain's name.
    #[test]
    fn a_link_of_a_chain_made_again_names_its_new_end() {
        let d = scratch("relink");
        std::fs::write(d.join("draft"), "d").unwrap();
        std::fs::write(d.join("notes"), "n").unwrap();
        std::os::unix::fs::symlink("draft", d.join("hop")).unwrap();
        std::os::unix::fs::symlink("hop", d.join(".env")).unwrap();
        let s = |p: &str| format!("{}/{p}", d.display());
        let mut n = listed(&["/**/.env".to_string()], &[&d]);
        assert_eq!(n.names_of_path(&s("draft")), vec![s(".env")]);
        assert!(n.may_name(&s("hop")), "hop is a place .env reaches");
        std::fs::remove_file(d.join("hop")).unwrap();
        std::os::unix::fs::symlink("notes", d.join("hop")).unwrap();
        let (files, paths) = n.learn_link(&s("hop"));
        assert!(files.iter().any(|(_, name)| *name == s(".env")), "{files:?}");
        assert!(paths.contains(&(s("notes"), s(".env"))), "{paths:?}");
        assert_eq!(n.names_of_path(&s("notes")), vec![s(".env")]);
        // An ordinary link made elsewhere still names nothing.
        std::os::unix::fs::symlink("notes", d.join("other")).unwrap();
        assert!(!n.may_name(&s("other")));
        // A dangling name's directory made a link later (`.env2 -> cfg/x`, then
        // `cfg -> config`): what the name reaches now is named.
        std::fs::create_dir_all(d.join("config")).unwrap();
        std::fs::write(d.join("config/x"), "x").unwrap();
        n.name_path(s("cfg/x"), &s(".env"));
        std::os::unix::fs::symlink("config", d.join("cfg")).unwrap();
        assert!(n.may_name(&s("cfg")));
        let (_, paths) = n.learn_link(&s("cfg"));
        assert!(paths.contains(&(s("config/x"), s(".env"))), "{paths:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn literal_dirs() {
        assert_eq!(literal_dir("/home/u/.ssh/**"), "/home/u/.ssh");
        assert_eq!(literal_dir("/**/.env"), "/");
        assert_eq!(literal_dir("/etc/ssh/ssh_host_*_key"), "/etc/ssh");
        assert_eq!(literal_dir("/etc/shadow"), "/etc/shadow");
    }

    #[test]
    fn files_links_chains_directories_and_dangling_links_are_named() {
        let d = scratch("all");
        let s = |p: &str| format!("{}/{p}", d.display());
        for dir in ["ws/config", "h/.ssh", "h/dotfiles/aws", "h/dotfiles/keys", "out"] {
            std::fs::create_dir_all(d.join(dir)).unwrap();
        }
        std::fs::write(d.join("ws/config/dev-settings"), "k").unwrap();
        std::fs::write(d.join("ws/plain"), "p").unwrap();
        std::fs::write(d.join("h/dotfiles/aws/credentials"), "k").unwrap();
        std::fs::write(d.join("h/dotfiles/keys/id_x"), "k").unwrap();
        std::fs::write(d.join("out/far"), "k").unwrap();
        std::fs::write(d.join("h/.ssh/own"), "k").unwrap();
        let sym = |t: &str, l: &str| std::os::unix::fs::symlink(t, d.join(l)).unwrap();
        sym("config/dev-settings", "ws/.env"); // relative
        sym("hop", "ws/.env.local"); // a chain
        sym("../out/far", "ws/hop");
        sym("dotfiles/aws", "h/.aws"); // a directory
        sym("../dotfiles/keys/id_x", "h/.ssh/id_test"); // into a readable tree
        sym("../../ws/later", "h/.ssh/id_later"); // dangling
        sym("config", "ws/cfg"); // a link that names no secret
        let patterns = vec![s("**/.env*"), s("h/.aws/**"), s("h/.ssh/**")];
        let n = listed(&patterns, &[&d.join("ws"), &d.join("h/.aws"), &d.join("h/.ssh")]);
        let names = |p: &str| n.names_of_path(&s(p));
        assert_eq!(names("ws/config/dev-settings"), vec![s("ws/.env")]);
        assert_eq!(names("out/far"), vec![s("ws/.env.local")]);
        assert_eq!(names("h/dotfiles/aws/credentials"), vec![s("h/.aws/credentials")]);
        assert_eq!(names("h/dotfiles/keys/id_x"), vec![s("h/.ssh/id_test")]);
        assert_eq!(names("ws/plain"), Vec::<String>::new());
        // A file made under the linked directory later is named by its path.
        std::fs::write(d.join("h/dotfiles/aws/config"), "k").unwrap();
        assert_eq!(names("h/dotfiles/aws/config"), vec![s("h/.aws/config")]);
        // The dangling link's target, once it exists.
        std::fs::write(d.join("ws/later"), "k").unwrap();
        assert_eq!(names("ws/later"), vec![s("h/.ssh/id_later")]);
        // A hard link of a named file made later meets its identity.
        std::fs::hard_link(d.join("ws/config/dev-settings"), d.join("ws/copy")).unwrap();
        assert_eq!(names("ws/copy"), vec![s("ws/.env")]);
        // A secret's own path is not another name of itself.
        assert_eq!(names("h/.ssh/own"), Vec::<String>::new());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_root_behind_a_link_a_loop_and_a_learnt_link() {
        let d = scratch("root");
        let s = |p: &str| format!("{}/{p}", d.display());
        std::fs::create_dir_all(d.join("dot/ssh")).unwrap();
        std::fs::create_dir_all(d.join("ws")).unwrap();
        std::fs::write(d.join("dot/ssh/id_rsa"), "k").unwrap();
        std::fs::write(d.join("ws/x"), "x").unwrap();
        std::os::unix::fs::symlink("dot/ssh", d.join(".ssh")).unwrap();
        std::os::unix::fs::symlink(".", d.join("dot/ssh/self")).unwrap();
        std::os::unix::fs::symlink("loop", d.join("ws/loop")).unwrap();
        let patterns = vec![s(".ssh/id_*"), s("**/.env")];
        let mut n = listed(&patterns, &[&d.join(".ssh"), &d.join("ws")]);
        assert_eq!(n.names_of_path(&s("dot/ssh/id_rsa")), vec![s(".ssh/id_rsa")]);
        assert_eq!(n.names_of_path(&s("ws/x")), Vec::<String>::new());
        // The agent links `.env` to x: x is named from then on.
        std::os::unix::fs::symlink("x", d.join("ws/.env")).unwrap();
        n.learn_link(&s("ws/.env"));
        assert_eq!(n.names_of_path(&s("ws/x")), vec![s("ws/.env")]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_index_by_last_component_answers_as_every_pattern_would() {
        let patterns: Vec<String> = [
            "/h/.ssh/**",
            "/**/.env",
            "/**/.env.*",
            "/h/.aws/credentials",
            "/h/.config/*/token",
            "/etc/ssh/ssh_host_*_key",
            "/**/id_?sa",
            "/h/.npmrc",
            "/**",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        let names = [
            "/h/.ssh",
            "/h/.ssh/id_rsa",
            "/ws/.env",
            "/ws/a/.env.local",
            "/ws/.envrc",
            "/h/.aws/credentials",
            "/h/.aws/config",
            "/h/.config/gh/token",
            "/h/.config/token",
            "/etc/ssh/ssh_host_rsa_key",
            "/etc/ssh/ssh_host_key",
            "/x/id_rsa",
            "/x/id_ecdsa",
            "/h/.npmrc",
            "/h/.npmrc/x",
            "/",
            "/ws/",
        ];
        for n in 0..=patterns.len() {
            let some = &patterns[..n];
            let idx = SecretNames::with_patterns(some.to_vec());
            for name in names {
                let want = some.iter().any(|p| crate::glob_match(p, name));
                assert_eq!(idx.is_secret_name(name), want, "{name} under {some:?}");
            }
        }
    }

    #[test]
    fn the_listing_is_bounded() {
        let d = scratch("bound");
        for i in 0..50 {
            std::fs::write(d.join(format!("f{i}")), "k").unwrap();
        }
        let mut n = SecretNames::with_patterns(vec![format!("{}/**", d.display())]);
        let mut budget = 10;
        n.list_root(&d.to_string_lossy(), &mut budget, &mut HashSet::new());
        assert_eq!(budget, 0);
        assert!(n.files().count() < 10);
        assert!(
            n.incomplete().is_some_and(|w| w.contains("bound of entries")),
            "{:?}",
            n.incomplete()
        );
        // Within the bound, and within the depth: complete.
        let mut n = SecretNames::with_patterns(vec![format!("{}/**", d.display())]);
        let mut budget = 100;
        n.list_root(&d.to_string_lossy(), &mut budget, &mut HashSet::new());
        assert_eq!(n.files().count(), 50);
        assert_eq!(n.incomplete(), None);
        // Deeper than MAX_DEPTH: said.
        let mut deep = d.join("deep");
        for i in 0..=MAX_DEPTH {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        let mut n = SecretNames::with_patterns(vec![format!("{}/**", d.display())]);
        let mut budget = MAX_LISTED;
        n.list_root(&d.to_string_lossy(), &mut budget, &mut HashSet::new());
        assert!(
            n.incomplete().is_some_and(|w| w.contains("levels")),
            "{:?}",
            n.incomplete()
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
