//! The secrets this process knows (docs/reliability.md, holes 4 and 5): every value that must
//! never be shown, registered where it is learnt — every value a secret configuration key has
//! in any tier (so an environment value that `-e` overrides too), the tokens of a login when the
//! auth code reads, refreshes or fetches them, the tokens in the credential files sx uses — and
//! masked as `***` wherever text leaves sx: error lines, tool output before the model or the
//! transcript sees it, the session's files.
//!
//! A value that looks like a JWT (`header.payload.signature`) also registers its payload and
//! signature on their own, so a part cut out of a token is masked as well.
//!
//! Cheap by design: one Aho-Corasick automaton over all the values, built when the set changed
//! and shared until it changes again; [`mask`] is one pass over the text, with no allocation
//! when the text holds no secret.
//!
//! The module also keeps the list of credential files sx itself uses ([`protect_file`],
//! [`protect_folder`]): the file tools refuse to read them ([`is_protected`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

/// What a masked secret becomes.
pub const MASK: &str = "***";

/// Shorter values are not registered: they would mask ordinary words, and real credentials
/// are long.
pub const MIN_LEN: usize = 8;

/// At most this many values are kept (a long session refreshes its token now and then; a
/// token server's machine may hold many logins); the oldest go first.
const MAX_KNOWN: usize = 4096;

#[derive(Default)]
struct Known {
    values: Vec<String>,
    /// The automaton over `values`; `None` when it must be (re)built.
    automaton: Option<Arc<AhoCorasick>>,
}

static KNOWN: RwLock<Known> = RwLock::new(Known {
    values: Vec::new(),
    automaton: None,
});

/// Remember `secret` for [`mask`] (and, when it looks like a JWT, its payload and signature).
/// Blank or short values are ignored.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_LEN {
        return;
    }
    let mut parts = vec![secret];
    parts.extend(jwt_parts(secret));
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    let mut changed = false;
    for part in parts {
        if part.len() < MIN_LEN || known.values.iter().any(|s| s == part) {
            continue;
        }
        if known.values.len() >= MAX_KNOWN {
            known.values.remove(0);
        }
        known.values.push(part.to_string());
        changed = true;
    }
    if changed {
        known.automaton = None;
    }
}

/// The payload and signature of a value shaped like a JWT (three base64url parts).
fn jwt_parts(value: &str) -> Vec<&str> {
    let parts: Vec<&str> = value.split('.').collect();
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    if parts.len() == 3 && parts.iter().all(|p| base64url(p)) && parts[0].starts_with("eyJ") {
        vec![parts[1], parts[2]]
    } else {
        Vec::new()
    }
}

/// Register the value of every secret key of `config` (API keys, the SSH password, …).
pub fn register_config(config: &crate::Config) {
    for (key, entry) in config.entries() {
        if crate::is_secret(key) {
            register(&entry.value);
        }
    }
}

/// The automaton over the registered values, built now if the set changed; `None` when
/// nothing is registered.
fn automaton() -> Option<Arc<AhoCorasick>> {
    {
        let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
        if known.values.is_empty() {
            return None;
        }
        if let Some(a) = &known.automaton {
            return Some(a.clone());
        }
    }
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if known.automaton.is_none() && !known.values.is_empty() {
        // Leftmost-longest: a secret that contains another is masked whole.
        let built = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&known.values)
            .expect("a few thousand short patterns fit the automaton");
        known.automaton = Some(Arc::new(built));
    }
    known.automaton.clone()
}

/// `text` with every registered secret replaced by [`MASK`]; borrowed when there is none.
pub fn mask(text: &str) -> Cow<'_, str> {
    let Some(ac) = automaton() else {
        return Cow::Borrowed(text);
    };
    if !ac.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    ac.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str(MASK);
        true
    });
    Cow::Owned(out)
}

/// How many registered secrets `text` holds (non-overlapping, as [`mask`] would mask them).
pub fn count(text: &str) -> usize {
    automaton().map_or(0, |ac| ac.find_iter(text).count())
}

/// The registered values (to redact a byte stream that [`mask`] cannot see whole, such as the
/// traffic log).
pub fn known() -> Vec<String> {
    KNOWN
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values
        .clone()
}

/// The credential files sx uses, by their resolved paths, and the folders whose every file is
/// one (`~/.codex/accounts/`).
#[derive(Default)]
struct Protected {
    files: Vec<PathBuf>,
    folders: Vec<PathBuf>,
    /// The file names of `files` as given and as resolved, and of `folders`: a path whose
    /// name is none of these is not looked at further (a walk over many files stays cheap).
    names: Vec<std::ffi::OsString>,
    /// Device and inode of each file as registered (a hard link elsewhere is the same file).
    inodes: Vec<(u64, u64)>,
}

static PROTECTED: RwLock<Protected> = RwLock::new(Protected {
    files: Vec::new(),
    folders: Vec::new(),
    names: Vec::new(),
    inodes: Vec::new(),
});

/// `path` with every symbolic link resolved: the file itself when it exists, else its folder
/// and then the name.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map(|d| d.join(name))
            .unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// Refuse `path` (a credential file sx uses) to the file tools from now on: the file, a link
/// to it, and the temporary files a writer makes beside it (`.{name}.…`).
pub fn protect_file(path: &Path) {
    let real = resolved(path);
    let mut p = PROTECTED.write().unwrap_or_else(|e| e.into_inner());
    for name in [path.file_name(), real.file_name()].into_iter().flatten() {
        if !p.names.iter().any(|n| n == name) {
            p.names.push(name.to_os_string());
        }
    }
    if let Ok(meta) = std::fs::metadata(&real) {
        use std::os::unix::fs::MetadataExt;
        let id = (meta.dev(), meta.ino());
        if !p.inodes.contains(&id) {
            p.inodes.push(id);
        }
    }
    if !p.files.contains(&real) {
        p.files.push(real);
    }
}

/// Refuse every file directly in `dir` (a folder of credential files, such as the accounts of
/// `scorpiox-codex-login --name`).
pub fn protect_folder(dir: &Path) {
    let real = resolved(dir);
    let mut p = PROTECTED.write().unwrap_or_else(|e| e.into_inner());
    for name in [dir.file_name(), real.file_name()].into_iter().flatten() {
        if !p.names.iter().any(|n| n == name) {
            p.names.push(name.to_os_string());
        }
    }
    if !p.folders.contains(&real) {
        p.folders.push(real);
    }
}

/// Whether `path` is a credential file sx uses (or a temporary copy of one, or a link to
/// one). Cheap for other paths: only a path named like a protected file, in a folder named like
/// a protected folder, or a symbolic link is resolved.
pub fn is_protected(path: &Path) -> bool {
    let p = PROTECTED.read().unwrap_or_else(|e| e.into_inner());
    if p.files.is_empty() && p.folders.is_empty() {
        return false;
    }
    let Some(name) = path.file_name() else {
        return false;
    };
    let name_str = name.to_string_lossy();
    let named = p.names.iter().any(|n| {
        n == name || {
            // `.auth.json.sx-<pid>-<n>.tmp`, `.auth.json.tmp.<pid>`
            let n = n.to_string_lossy();
            name_str.starts_with(&format!(".{n}."))
        }
    });
    let in_named_folder = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|f| p.names.iter().any(|n| n == f));
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !named && !in_named_folder && !link {
        return false;
    }
    let real = resolved(path);
    let real_name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.files.iter().any(|f| {
        *f == real
            || (f.parent() == real.parent()
                && f.file_name()
                    .is_some_and(|n| real_name.starts_with(&format!(".{}.", n.to_string_lossy()))))
    }) || real
        .parent()
        .is_some_and(|d| p.folders.iter().any(|f| f == d))
}

/// Whether an opened file is a credential file sx uses, by its device and inode (a hard link
/// to it anywhere).
pub fn is_protected_file(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let p = PROTECTED.read().unwrap_or_else(|e| e.into_inner());
    p.inodes.contains(&(meta.dev(), meta.ino()))
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
