//! The project's log files: `logs/<LORE_ENV>.log`, readable by its owner only (0600), every line
//! scrubbed of secrets and cut when long, rotated by size (`.log.1` is the newest old file).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::redact::redact;

/// The longest log line kept, in bytes; the rest of a longer one is cut and counted.
pub const MAX_LINE: usize = 8 * 1024;

/// The size at which a log file is rotated, unless `LORE_LOG_MAX_BYTES` says otherwise.
pub const MAX_FILE: u64 = 10 << 20;

/// How many rotated files are kept beside the current one.
pub const KEEP: usize = 5;

/// `text` with secrets masked (see [`redact`]) and each line cut to `max_line` bytes.
pub fn scrub(text: &str, max_line: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_line + 64));
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let body = match body.len() > max_line {
            true => {
                let mut end = max_line;
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{} ... ({} bytes cut)", &body[..end], body.len() - end)
            }
            false => body.to_string(),
        };
        out.push_str(&redact(&body));
        out.push_str(newline);
    }
    out
}

/// A writer that passes each write through [`scrub`]: for standard error and log files.
pub struct Scrubbed<W: Write> {
    inner: W,
}

impl<W: Write> Scrubbed<W> {
    /// `inner`, scrubbed.
    pub fn new(inner: W) -> Scrubbed<W> {
        Scrubbed { inner }
    }
}

impl<W: Write> Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(scrub(&text, MAX_LINE).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A log file appended to, 0600, and rotated when it would pass its size.
pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    max: u64,
}

impl LogFile {
    /// Opens `path` for appending (made 0600, with its folder), rotating at `max` bytes.
    pub fn open(path: &Path, max: u64) -> std::io::Result<LogFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = private_append(path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            size,
            max: max.max(1024),
        })
    }

    /// `<path>.<n>`.
    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Moves `.log.4` to `.log.5` and so on, the current file to `.log.1`, and starts anew.
    fn rotate(&mut self) -> std::io::Result<()> {
        let _ = std::fs::remove_file(self.rotated(KEEP));
        for n in (1..KEEP).rev() {
            let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        self.file = private_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// `path` opened for appending, created 0600, and made 0600 if it was created otherwise.
fn private_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max {
            // Another process may have rotated it already; then this one starts the new file.
            if let Err(e) = self.rotate() {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(e);
                }
                self.file = private_append(&self.path)?;
                self.size = 0;
            }
        }
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_scrubbed_and_cut() {
        let line = format!(
            "read postgres://me:pw@h/db?password=hunter2 {}\n",
            "v".repeat(20_000)
        );
        let out = scrub(&line, MAX_LINE);
        assert!(
            !out.contains("hunter2") && !out.contains(":pw@"),
            "{}",
            &out[..200]
        );
        assert!(
            out.len() < MAX_LINE + 100 && out.ends_with("bytes cut)\n"),
            "{}",
            out.len()
        );
        assert_eq!(scrub("a\nb\n", 10), "a\nb\n");
        assert_eq!(scrub("ééé", 3), "é ... (4 bytes cut)");
    }

    #[test]
    fn log_files_are_private_and_rotate_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("test.log");
        let mut log = LogFile::open(&path, 2048).unwrap();
        for i in 0..200 {
            writeln!(log, "line {i:04} {}", "x".repeat(90)).unwrap();
        }
        drop(log);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.len() <= 2048 && current.contains("line 0199"));
        let newest_old = std::fs::read_to_string(dir.path().join("logs/test.log.1")).unwrap();
        assert!(newest_old.len() <= 2048 && !newest_old.contains("line 0199"));
        assert!(dir.path().join("logs/test.log.5").is_file());
        assert!(!dir.path().join("logs/test.log.6").exists());
    }
}
