//! `TOKEN_SERVER_KEYS`: which bearer key unlocks which account's credential file.
//!
//! The value is `key=path,key=path,…`. Keys are secrets: no message ever shows one; entries are
//! named by position and by account name (the credential file's stem). Lookup compares the
//! presented key with every configured key in constant time.

use std::path::{Path, PathBuf};

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// The config key this module reads.
pub const KEY: &str = "TOKEN_SERVER_KEYS";
/// Keys shorter than this get a warning at startup.
pub const MIN_KEY_LEN: usize = 24;
/// What the value looks like, for error messages.
const FORMAT: &str = "comma-separated KEY=CREDENTIALS_FILE pairs, e.g. \
     TOKEN_SERVER_KEYS=<key1>=~/.codex/accounts/alice.json,<key2>=/srv/bob.json \
     (make keys with: openssl rand -hex 32)";

/// One `key=path` entry as written, before the file is looked at.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based position in the list (how messages refer to the entry).
    pub position: usize,
    pub key: String,
    /// The path with `~` expanded (and made absolute against the working directory).
    pub path: PathBuf,
    /// The file stem: how logs and messages name the account.
    pub account: String,
}

/// Parse the value of `TOKEN_SERVER_KEYS`. Returns the entries and one warning line per key
/// shorter than [`MIN_KEY_LEN`]. Errors are one line and never contain a key.
pub fn parse(
    value: Option<&str>,
    home: Option<&Path>,
    cwd: &Path,
) -> Result<(Vec<Entry>, Vec<String>), String> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(format!("{KEY} is not set; set it to {FORMAT}"));
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut warnings = Vec::new();
    // Empty items (a trailing comma) are skipped but still count as positions, so the numbers
    // in messages match what the administrator sees when counting commas.
    for (i, item) in value.split(',').enumerate() {
        let position = i + 1;
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let malformed =
            |why: &str| format!("{KEY} entry {position} is malformed ({why}); use {FORMAT}");
        let Some((key, path)) = item.split_once('=') else {
            return Err(malformed("expected KEY=CREDENTIALS_FILE"));
        };
        let (key, path) = (key.trim(), path.trim());
        if key.is_empty() {
            return Err(malformed("the key is empty"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(malformed(
                "the key must be printable ASCII without spaces, as it travels in an HTTP header",
            ));
        }
        if path.is_empty() {
            return Err(malformed("the credentials file is empty"));
        }
        let path = resolve(path, home, cwd).ok_or_else(|| {
            malformed("the path starts with ~ but the home directory is unknown (HOME is not set)")
        })?;
        let Some(account) = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
        else {
            return Err(malformed("the credentials file has no file name"));
        };
        if let Some(other) = entries.iter().find(|e| e.key == key) {
            return Err(format!(
                "{KEY} entries {} and {position} have the same key; give every entry its own key",
                other.position
            ));
        }
        if key.len() < MIN_KEY_LEN {
            warnings.push(format!(
                "{KEY} entry {position} (account '{account}') has a key shorter than \
                 {MIN_KEY_LEN} characters; use a long random key (openssl rand -hex 32)"
            ));
        }
        entries.push(Entry {
            position,
            key: key.to_string(),
            path,
            account,
        });
    }
    if entries.is_empty() {
        return Err(format!("{KEY} has no entries; set it to {FORMAT}"));
    }
    Ok((entries, warnings))
}

fn resolve(path: &str, home: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    let p = if path == "~" {
        home?.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home?.join(rest)
    } else {
        PathBuf::from(path)
    };
    Some(if p.is_absolute() { p } else { cwd.join(p) })
}

/// The configured keys, each bound to an account (`T`: what the server keeps per account).
pub struct KeyMap<T> {
    keys: Vec<(Vec<u8>, u32)>,
    accounts: Vec<T>,
}

impl<T> KeyMap<T> {
    /// `keys`: (key, index into `accounts`).
    pub fn new(keys: Vec<(String, usize)>, accounts: Vec<T>) -> Self {
        let keys = keys
            .into_iter()
            .map(|(k, i)| {
                assert!(i < accounts.len(), "account index out of range");
                (
                    k.into_bytes(),
                    u32::try_from(i).expect("fewer than 2^32 accounts"),
                )
            })
            .collect();
        KeyMap { keys, accounts }
    }

    pub fn accounts(&self) -> &[T] {
        &self.accounts
    }

    /// The account `presented` unlocks. Every configured key is compared, in constant time,
    /// whatever matched before: the time taken depends on the configured keys' lengths only.
    pub fn lookup(&self, presented: &[u8]) -> Option<&T> {
        let mut found = Choice::from(0);
        let mut index = 0u32;
        for (key, account) in &self.keys {
            let eq = ct_eq(presented, key);
            index.conditional_assign(account, eq);
            found |= eq;
        }
        bool::from(found).then(|| &self.accounts[index as usize])
    }
}

/// `presented == key` without an early exit on the first differing byte or on a length
/// mismatch: all of `key` is always walked.
fn ct_eq(presented: &[u8], key: &[u8]) -> Choice {
    let mut eq = (presented.len() as u64).ct_eq(&(key.len() as u64));
    for (i, k) in key.iter().enumerate() {
        eq &= presented.get(i).copied().unwrap_or(0).ct_eq(k);
    }
    eq
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "0123456789abcdef0123456789abcdef";
    const K2: &str = "fedcba9876543210fedcba9876543210";

    fn parse_ok(v: &str) -> (Vec<Entry>, Vec<String>) {
        parse(Some(v), Some(Path::new("/home/u")), Path::new("/work")).unwrap()
    }

    fn parse_err(v: Option<&str>) -> String {
        let e = parse(v, Some(Path::new("/home/u")), Path::new("/work")).unwrap_err();
        assert!(!e.contains(K1) && !e.contains("short"), "a key leaked: {e}");
        e
    }

    #[test]
    fn parses_entries_and_expands_paths() {
        let (e, w) = parse_ok(&format!(
            " {K1}=~/.codex/accounts/alice.json , {K2}=/srv/bob.json,x{K1}=rel/carol.json,"
        ));
        assert!(w.is_empty(), "{w:?}");
        let got: Vec<(usize, &str, &str, &str)> = e
            .iter()
            .map(|e| {
                (
                    e.position,
                    e.key.as_str(),
                    e.path.to_str().unwrap(),
                    e.account.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, K1, "/home/u/.codex/accounts/alice.json", "alice"),
                (2, K2, "/srv/bob.json", "bob"),
                (3, &*format!("x{K1}"), "/work/rel/carol.json", "carol"),
            ]
        );
    }

    #[test]
    fn rejects_bad_values_without_showing_keys() {
        assert!(parse_err(None).contains("TOKEN_SERVER_KEYS is not set"));
        assert!(parse_err(Some("  ")).contains("KEY=CREDENTIALS_FILE"));
        assert!(parse_err(Some(",")).contains("has no entries"));
        let e = parse_err(Some(&format!("{K1}=/a/alice.json,{K1}")));
        assert!(e.contains("entry 2 is malformed"), "{e}");
        let e = parse_err(Some(&format!("{K1}=/a/alice.json,{K1}=/b/bob.json")));
        assert!(e.contains("entries 1 and 2 have the same key"), "{e}");
        assert!(parse_err(Some("=/a/x.json")).contains("the key is empty"));
        assert!(parse_err(Some(&format!("{K1}="))).contains("credentials file is empty"));
        assert!(parse_err(Some(&format!("{K1} x=/a.json"))).contains("printable ASCII"));
        let e = parse(Some(&format!("{K1}=~/a.json")), None, Path::new("/")).unwrap_err();
        assert!(e.contains("HOME is not set"), "{e}");
    }

    #[test]
    fn warns_about_short_keys() {
        let (_, w) = parse_ok(&format!("short=/a/alice.json,{K2}=/b/bob.json"));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("entry 1 (account 'alice')"), "{}", w[0]);
        assert!(!w[0].contains("short="), "{}", w[0]);
    }

    #[test]
    fn lookup_finds_exactly_the_right_account() {
        let map = KeyMap::new(
            vec![(K1.into(), 0), (K2.into(), 1), ("k3".into(), 0)],
            vec!["alice", "bob"],
        );
        assert_eq!(map.lookup(K1.as_bytes()), Some(&"alice"));
        assert_eq!(map.lookup(K2.as_bytes()), Some(&"bob"));
        assert_eq!(map.lookup(b"k3"), Some(&"alice"));
        for bad in [
            &b""[..],
            b"k",
            b"k30",
            &K1.as_bytes()[..31],
            b"0123456789abcdef0123456789abcdeF",
        ] {
            assert_eq!(map.lookup(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let longer = format!("{K1}0");
        assert_eq!(map.lookup(longer.as_bytes()), None);
    }
}
