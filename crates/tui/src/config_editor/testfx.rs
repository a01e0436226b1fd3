//! A home and a project for the editor's tests.

use std::path::{Path, PathBuf};

use sx_config::{Config, LoadOptions, load};

/// A home and a project (a git root) in a temporary folder, nothing from the machine.
pub struct Fx {
    _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub proj: PathBuf,
}

impl Fx {
    pub fn new() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (home, proj) = (root.join("home"), root.join("proj"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(proj.join(".git")).unwrap();
        Fx {
            _tmp: tmp,
            home,
            proj,
        }
    }

    pub fn opts(&self) -> LoadOptions {
        let mut o = LoadOptions::new(self.proj.clone());
        o.home = Some(self.home.clone());
        o.exe_dir = Some(self.home.join("no-exe"));
        o.env = Some(Vec::new());
        o
    }

    pub fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn config(&self) -> Config {
        load(&self.opts()).unwrap()
    }
}
