//! Path glob matching over canonical absolute paths: `*` and `?` within one
//! component, `**` as a whole component for any number of components (including
//! none, so `/ws/**` also matches `/ws` itself).

/// Does `pattern` (already variable-expanded) match the canonical path `path`?
pub fn glob_match(pattern: &str, path: &str) -> bool {
    if pattern.starts_with('/') != path.starts_with('/') {
        return false;
    }
    // Fast paths for the common shapes, without allocating: a literal path, and a
    // literal directory followed by `/**`. (The monitor matches every pattern of a
    // policy on every open.)
    let literal = |s: &str| !s.contains(['*', '?']);
    if literal(pattern) {
        return parts(pattern).eq(parts(path));
    }
    if let Some(dir) = pattern.strip_suffix("/**") {
        if literal(dir) {
            let mut p = parts(path);
            return parts(dir).all(|c| p.next() == Some(c));
        }
    }
    glob_match_general(pattern, path)
}

fn parts(s: &str) -> impl Iterator<Item = &str> {
    s.split('/').filter(|c| !c.is_empty())
}

/// The general case: dynamic programming over components.
fn glob_match_general(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = components(pattern);
    let p: Vec<&str> = components(path);
    if pattern.starts_with('/') != path.starts_with('/') {
        return false;
    }
    // dp[j] = pat[i..] matches p[j..], computed from the last pattern component back.
    let mut next = vec![false; p.len() + 1];
    next[p.len()] = true;
    for i in (0..pat.len()).rev() {
        let mut cur = vec![false; p.len() + 1];
        for j in (0..=p.len()).rev() {
            cur[j] = if pat[i] == "**" {
                next[j] || (j < p.len() && cur[j + 1])
            } else {
                j < p.len() && component_match(pat[i].as_bytes(), p[j].as_bytes()) && next[j + 1]
            };
        }
        next = cur;
    }
    next[0]
}

fn components(s: &str) -> Vec<&str> {
    s.split('/').filter(|c| !c.is_empty()).collect()
}

/// `*` and `?` wildcard match of one component (bytes; `?` is one byte).
fn component_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < pat.len() && (pat[pi] == b'?' || pat[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < pat.len() && pat[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < pat.len() && pat[pi] == b'*' {
        pi += 1;
    }
    pi == pat.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    /// The fast paths agree with the general matcher on every pattern and path
    /// built from a few components.
    #[test]
    fn fast_paths_agree_with_the_general_matcher() {
        let comps = ["a", "b", "**", "*", "a*"];
        let mut patterns = vec!["/".to_string()];
        let mut paths = vec!["/".to_string(), "a".to_string()];
        for x in comps {
            patterns.push(format!("/{x}"));
            for y in comps {
                patterns.push(format!("/{x}/{y}"));
                for z in comps {
                    patterns.push(format!("/{x}/{y}/{z}"));
                }
            }
        }
        for x in ["a", "b", "ab"] {
            paths.push(format!("/{x}"));
            for y in ["a", "b", "ab"] {
                paths.push(format!("/{x}/{y}"));
                paths.push(format!("/{x}/{y}/a"));
            }
        }
        for p in &patterns {
            for q in &paths {
                assert_eq!(glob_match(p, q), super::glob_match_general(p, q), "{p} vs {q}");
            }
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("/ws/**", "/ws"));
        assert!(glob_match("/ws/**", "/ws/a/b/c"));
        assert!(!glob_match("/ws/**", "/wsx/a"));
        assert!(glob_match("/**/.env", "/home/u/proj/.env"));
        assert!(glob_match("/**/.env", "/.env"));
        assert!(!glob_match("/**/.env", "/home/u/.envrc"));
        assert!(glob_match("/**/.env.*", "/p/.env.local"));
        assert!(glob_match("/src/*.rs", "/src/main.rs"));
        assert!(!glob_match("/src/*.rs", "/src/a/main.rs"));
        assert!(glob_match(
            "/etc/ssh/ssh_host_*_key",
            "/etc/ssh/ssh_host_ed25519_key"
        ));
        assert!(!glob_match(
            "/etc/ssh/ssh_host_*_key",
            "/etc/ssh/ssh_host_ed25519_key.pub"
        ));
        assert!(glob_match("/a/?/c", "/a/b/c"));
        assert!(!glob_match("/a/?/c", "/a/bb/c"));
        assert!(glob_match("/", "/"));
        assert!(glob_match("/**", "/anything/at/all"));
        assert!(glob_match("/a/**/b/**/c", "/a/x/b/y/z/c"));
        assert!(!glob_match("/a/b", "a/b"), "relative paths never match");
    }
}
