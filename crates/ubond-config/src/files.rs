//! Where configuration files are read from: the [`Files`] trait (so parsers that follow
//! includes and the system-wide discovery stay testable with an in-memory tree) and
//! [`RootDir`], the real file system below a root directory.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Largest configuration file read (a larger one is refused, not truncated).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Read access to configuration files by absolute (or caller-relative) path, as written in
/// the configuration (`/etc/network/interfaces.d/bond0`).
pub trait Files {
    /// The whole text of the file at `path`.
    fn read(&self, path: &str) -> io::Result<String>;
    /// The names (not paths) of the entries of directory `dir`, sorted; an error if it is not
    /// a readable directory.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;
}

/// The real file system, with every path taken below `root` (`/` for the system itself; a
/// fixture tree in tests).
#[derive(Debug, Clone)]
pub struct RootDir {
    root: PathBuf,
}

impl RootDir {
    /// Paths are read below `root`.
    pub fn new(root: impl Into<PathBuf>) -> RootDir {
        RootDir { root: root.into() }
    }

    /// Where `path` really is.
    pub fn real(&self, path: &str) -> PathBuf {
        if self.root == Path::new("/") {
            PathBuf::from(path)
        } else {
            self.root.join(path.trim_start_matches('/'))
        }
    }
}

impl Files for RootDir {
    fn read(&self, path: &str) -> io::Result<String> {
        let real = self.real(path);
        let len = std::fs::metadata(&real)?.len();
        if len > MAX_FILE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {MAX_FILE_BYTES} bytes"),
            ));
        }
        let bytes = std::fs::read(&real)?;
        text_of(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(self.real(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    fn is_dir(&self, path: &str) -> bool {
        self.real(path).is_dir()
    }
}

/// The text of a file's bytes, without a leading byte-order mark (an editor's, which no
/// tool reading these files expects as part of the first word), or why it is not text: the
/// line and column of the first byte that is not UTF-8 (`not UTF-8 text: byte 0xff at line 3,
/// column 7 (a binary file?)`).
pub fn text_of(bytes: Vec<u8>) -> Result<String, String> {
    let bytes = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..good]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(
            "not UTF-8 text: byte {:#04x} at line {line}, column {column} (a binary file?)",
            bytes.get(good).copied().unwrap_or(0)
        )
    })
}

/// An in-memory tree (path → text) for tests and tools; directories are implied by paths.
#[derive(Debug, Clone, Default)]
pub struct MemFiles {
    files: BTreeMap<String, String>,
}

impl MemFiles {
    /// An empty tree.
    pub fn new() -> MemFiles {
        MemFiles::default()
    }

    /// Adds (or replaces) a file.
    pub fn with(mut self, path: impl Into<String>, text: impl Into<String>) -> MemFiles {
        self.files.insert(path.into(), text.into());
        self
    }
}

impl Files for MemFiles {
    fn read(&self, path: &str) -> io::Result<String> {
        self.files.get(path).cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
            .collect();
        names.dedup();
        if names.is_empty() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        Ok(names)
    }

    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.files.keys().any(|p| p.starts_with(&prefix))
    }
}

/// Whether `name` matches the shell pattern `pattern` (`*`, `?` and `[...]` classes with
/// ranges and `!`/`^` negation; no special case for a leading dot beyond the shell's).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with one backtrack point for the last `*`: linear in practice, and
    // bounded by |p| * |n| steps.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class at the start of `p` (`[...]`): (matched, class length), or
/// `None` if the class is not closed.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Whether `s` holds a shell wildcard.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "bond0"));
        assert!(!glob_match("*", ".hidden"));
        assert!(glob_match("ifcfg-*", "ifcfg-bond0"));
        assert!(!glob_match("ifcfg-*", "route-bond0"));
        assert!(glob_match("*.conf", "bonding.conf"));
        assert!(!glob_match("*.conf", "bonding.conf~"));
        assert!(glob_match("bond?", "bond1"));
        assert!(glob_match("bond[0-3]", "bond2"));
        assert!(!glob_match("bond[!0-3]", "bond2"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("[", "["));
    }

    #[test]
    fn mem_files_list_directories() {
        let fs = MemFiles::new().with("/a/b/c", "1").with("/a/b/d/e", "2").with("/a/x", "3");
        assert_eq!(fs.list("/a/b").ok(), Some(vec!["c".to_owned(), "d".to_owned()]));
        assert!(fs.is_dir("/a/b/d"));
        assert!(!fs.is_dir("/a/x"));
        assert!(fs.list("/nope").is_err());
    }
}
