//! Files and directories the host creates for itself — the data directory, the SQLite database
//! (SQLite gives its `-wal` and `-shm` files the database's mode), the local key file, the
//! compile cache — are private to the host's user: directories 0700, files 0600, whatever the
//! process umask. What already exists keeps its mode: an operator who prepared a directory chose
//! it (the local key file warns when others can read it).

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700; an existing directory is left as is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `path` empty with mode 0600 when it does not exist; an existing file is left as is.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Writes `bytes` to `path` (replacing its contents), creating it with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    io::Write::write_all(&mut options.open(path)?, bytes)
}

/// True when users other than the owner may read or enter `path`.
pub fn open_to_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_directories_and_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(
            (mode(&root.path().join("a")), mode(&nested)),
            (0o700, 0o700)
        );
        let file = nested.join("db");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        write_private(&nested.join("blob"), b"x").unwrap();
        assert_eq!(mode(&nested.join("blob")), 0o600);
        assert!(!open_to_others(&nested));
    }

    #[test]
    fn existing_files_keep_their_mode_and_contents() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("db");
        std::fs::write(&file, b"data").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_private_file(&file).unwrap();
        assert_eq!(
            (mode(&file), std::fs::read(&file).unwrap()),
            (0o640, b"data".to_vec())
        );
        assert!(open_to_others(&file));
    }
}
