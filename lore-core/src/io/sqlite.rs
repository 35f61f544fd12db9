//! SQLite reads through SQLite's C API, on a connection of the pool locked for the read. The
//! statement is prepared and stepped here, and each value is appended straight into its
//! column's builder. A text is copied once, from SQLite's buffer into polars' layout. sqlx's
//! path would otherwise make one decoded value, and for text one `String`, a cell, passed row by
//! row from its worker thread. The values are typed exactly as that path types them. Only one
//! read-only statement is read this way. Others, and any SQLite will not prepare, go through
//! sqlx, which runs them or reports their error as it always has.

use std::ffi::{c_char, c_int, CStr};
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;

use super::rows::{FrameBuilder, Value};

/// The bytes of a database file a SQLite connection maps into memory to read it (`mmap_size`).
pub(super) const MMAP_SIZE: i64 = 1 << 30;

/// A connection reading through SQLite's own small page cache instead of its map of the file,
/// until dropped. A read into a frame copies every value anyway, so the map would only add the
/// whole file to the process's resident memory beside the frame (a 1 GB table read in batches
/// held 1 GB of mapped pages); the pages still come from the kernel's cache either way.
pub(super) struct Unmapped {
    db: NonNull<ffi::sqlite3>,
}

// SAFETY: as for `Statement`: the connection is locked for the read while this lives.
unsafe impl Send for Unmapped {}

impl Unmapped {
    /// # Safety
    /// `db` must be an open connection that no other thread uses while this lives.
    pub(super) unsafe fn new(db: NonNull<ffi::sqlite3>) -> Unmapped {
        pragma_mmap_size(db, 0);
        Unmapped { db }
    }
}

impl Drop for Unmapped {
    fn drop(&mut self) {
        // SAFETY: the connection is still held, as `new` requires.
        unsafe { pragma_mmap_size(self.db, MMAP_SIZE) };
    }
}

/// Sets the connection's `mmap_size`. A failure only leaves the setting as it was, which changes
/// how much is mapped, never what is read, so it is logged rather than returned.
///
/// # Safety
/// `db` must be an open connection that no other thread uses meanwhile.
unsafe fn pragma_mmap_size(db: NonNull<ffi::sqlite3>, bytes: i64) {
    let Ok(sql) = std::ffi::CString::new(format!("PRAGMA mmap_size = {bytes}")) else {
        return;
    };
    let status = ffi::sqlite3_exec(
        db.as_ptr(),
        sql.as_ptr(),
        None,
        ptr::null_mut(),
        ptr::null_mut(),
    );
    if status != ffi::SQLITE_OK {
        tracing::debug!("PRAGMA mmap_size = {bytes} failed with SQLite status {status}");
    }
}

/// How a column's declared type changes how its values are read (as sqlx reads it: the
/// declared type's exact name, any case).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Declared {
    /// `BOOLEAN` or `BOOL`: integers are booleans.
    Boolean,
    /// `DATE`: text is parsed as a date where it is one.
    Date,
    /// `DATETIME` or `TIMESTAMP`: text is parsed as a timestamp where it is one.
    Datetime,
    /// Anything else, or an expression: values as they are stored.
    Other,
}

impl Declared {
    fn of(decltype: Option<&str>) -> Declared {
        match decltype.map(str::to_ascii_lowercase).as_deref() {
            Some("boolean" | "bool") => Declared::Boolean,
            Some("date") => Declared::Date,
            Some("datetime" | "timestamp") => Declared::Datetime,
            _ => Declared::Other,
        }
    }
}

/// A prepared, read-only statement with its parameters bound, on a connection this read holds.
pub(super) struct Statement {
    db: NonNull<ffi::sqlite3>,
    stmt: NonNull<ffi::sqlite3_stmt>,
    names: Vec<String>,
    declared: Vec<Declared>,
}

// SAFETY: the connection is locked for this read (`LockedSqliteHandle`) for as long as the
// statement lives, so no other thread uses either while it moves between threads.
unsafe impl Send for Statement {}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: prepared here, finalized once.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

impl Statement {
    /// `text` prepared on `db` with `binds` bound in order; `None` where it is not one read-only
    /// statement, or SQLite will not prepare or bind it (the driver's path then reports why).
    ///
    /// # Safety
    /// `db` must be an open connection that no other thread uses while the statement lives.
    pub(super) unsafe fn prepare(
        db: NonNull<ffi::sqlite3>,
        text: &str,
        binds: &[serde_json::Value],
    ) -> Option<Statement> {
        let length = c_int::try_from(text.len()).ok()?;
        let mut stmt = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        let status = ffi::sqlite3_prepare_v2(
            db.as_ptr(),
            text.as_ptr().cast(),
            length,
            &mut stmt,
            &mut tail,
        );
        let stmt = NonNull::new(stmt)?;
        let mut statement = Statement {
            db,
            stmt,
            names: Vec::new(),
            declared: Vec::new(),
        };
        let consumed = (tail as usize).saturating_sub(text.as_ptr() as usize);
        let rest = text.get(consumed..).unwrap_or_default();
        if status != ffi::SQLITE_OK
            || ffi::sqlite3_stmt_readonly(stmt.as_ptr()) == 0
            || !rest.trim().trim_end_matches(';').trim().is_empty()
            || usize::try_from(ffi::sqlite3_bind_parameter_count(stmt.as_ptr())).ok()
                != Some(binds.len())
        {
            return None;
        }
        for (i, value) in binds.iter().enumerate() {
            statement.bind(i as c_int + 1, value)?;
        }
        let columns = ffi::sqlite3_column_count(stmt.as_ptr()).max(0);
        for i in 0..columns {
            let name = ffi::sqlite3_column_name(stmt.as_ptr(), i);
            statement.names.push(match name.is_null() {
                true => format!("column_{i}"),
                false => CStr::from_ptr(name).to_string_lossy().into_owned(),
            });
            let decltype = ffi::sqlite3_column_decltype(stmt.as_ptr(), i);
            let decltype =
                (!decltype.is_null()).then(|| CStr::from_ptr(decltype).to_string_lossy());
            statement.declared.push(Declared::of(decltype.as_deref()));
        }
        Some(statement)
    }

    /// Binds `value` to parameter `index` (from 1) as sqlx binds it.
    fn bind(&mut self, index: c_int, value: &serde_json::Value) -> Option<()> {
        let stmt = self.stmt.as_ptr();
        let text = |s: &str| -> c_int {
            let Ok(length) = c_int::try_from(s.len()) else {
                return ffi::SQLITE_TOOBIG;
            };
            // SAFETY: SQLite copies the text (SQLITE_TRANSIENT) before returning.
            unsafe {
                ffi::sqlite3_bind_text(
                    stmt,
                    index,
                    s.as_ptr().cast(),
                    length,
                    ffi::SQLITE_TRANSIENT(),
                )
            }
        };
        // SAFETY: a live statement and a parameter index within its count.
        let status = unsafe {
            match value {
                serde_json::Value::Null => ffi::sqlite3_bind_null(stmt, index),
                serde_json::Value::Bool(b) => ffi::sqlite3_bind_int64(stmt, index, i64::from(*b)),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => ffi::sqlite3_bind_int64(stmt, index, i),
                    None => match n.as_f64() {
                        Some(x) => ffi::sqlite3_bind_double(stmt, index, x),
                        None => ffi::sqlite3_bind_null(stmt, index),
                    },
                },
                serde_json::Value::String(s) => text(s),
                other => text(&other.to_string()),
            }
        };
        (status == ffi::SQLITE_OK).then_some(())
    }

    /// The names of its columns.
    pub(super) fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Steps up to `rows` rows into `builder`; the number read, fewer than `rows` once the
    /// statement is done. An error is SQLite's message, or the column a value cannot go in.
    pub(super) fn read(
        &mut self,
        builder: &mut FrameBuilder,
        rows: usize,
    ) -> Result<usize, String> {
        let stmt = self.stmt.as_ptr();
        for read in 0..rows {
            // SAFETY: a live statement on a connection this read holds.
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_ROW => {}
                ffi::SQLITE_DONE => return Ok(read),
                _ => return Err(self.message()),
            }
            for (i, declared) in self.declared.iter().enumerate() {
                let column = i as c_int;
                // SAFETY: a column of the row just stepped to; a text pointer is read with its
                // length before the next call on the statement.
                unsafe {
                    match ffi::sqlite3_column_type(stmt, column) {
                        ffi::SQLITE_NULL => builder.push(i, Value::Null),
                        ffi::SQLITE_INTEGER => {
                            let v = ffi::sqlite3_column_int64(stmt, column);
                            builder.push(
                                i,
                                match declared {
                                    Declared::Boolean => Value::Bool(v != 0),
                                    _ => Value::Int(v),
                                },
                            );
                        }
                        ffi::SQLITE_FLOAT => {
                            builder.push(i, Value::Float(ffi::sqlite3_column_double(stmt, column)))
                        }
                        ffi::SQLITE_TEXT => {
                            let at = ffi::sqlite3_column_text(stmt, column);
                            let length = ffi::sqlite3_column_bytes(stmt, column).max(0) as usize;
                            let bytes = match at.is_null() {
                                true => &[][..],
                                false => std::slice::from_raw_parts(at, length),
                            };
                            let text = std::str::from_utf8(bytes).map_err(|e| {
                                format!("column {}: the text is not UTF-8: {e}", self.names[i])
                            })?;
                            let parsed = match declared {
                                Declared::Date => {
                                    super::connection::parse_date(text).map(Value::Date)
                                }
                                Declared::Datetime => {
                                    super::connection::parse_timestamp(text).map(Value::Timestamp)
                                }
                                _ => None,
                            };
                            match parsed {
                                Some(value) => builder.push(i, value),
                                None => builder.push_text(i, text),
                            }
                        }
                        _ => {
                            return Err(format!(
                                "column {}: BLOB values cannot be read into a data frame; select \
                                 them as hex()",
                                self.names[i]
                            ))
                        }
                    }
                }
            }
        }
        Ok(rows)
    }

    /// SQLite's message for the last failure on the connection.
    fn message(&self) -> String {
        // SAFETY: SQLite returns a NUL-terminated message it owns, copied at once.
        unsafe {
            let message = ffi::sqlite3_errmsg(self.db.as_ptr());
            match message.is_null() {
                true => "SQLite failed without a message".to_string(),
                false => CStr::from_ptr(message).to_string_lossy().into_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection of SQLite's own to a new file in a folder of its own, closed on drop (the
    /// folder after it).
    struct Open {
        db: NonNull<ffi::sqlite3>,
        _dir: tempfile::TempDir,
    }

    impl Drop for Open {
        fn drop(&mut self) {
            // SAFETY: opened here, closed once.
            unsafe { ffi::sqlite3_close(self.db.as_ptr()) };
        }
    }

    fn open() -> Open {
        let dir = tempfile::tempdir().unwrap();
        let path = std::ffi::CString::new(dir.path().join("t.sqlite").to_str().unwrap()).unwrap();
        let mut db = ptr::null_mut();
        // SAFETY: a new connection, owned by `Open`.
        let status = unsafe { ffi::sqlite3_open(path.as_ptr(), &mut db) };
        assert_eq!(status, ffi::SQLITE_OK);
        Open {
            db: NonNull::new(db).unwrap(),
            _dir: dir,
        }
    }

    fn mmap_size(db: &Open) -> i64 {
        // SAFETY: this thread's own connection; the statement is finalized on drop.
        unsafe {
            let mut statement = Statement::prepare(db.db, "PRAGMA mmap_size", &[]).unwrap();
            let mut builder = FrameBuilder::new(statement.names());
            assert_eq!(statement.read(&mut builder, 2), Ok(1));
            let df = builder.take().unwrap();
            df.column("mmap_size")
                .unwrap()
                .i64()
                .unwrap()
                .get(0)
                .unwrap()
        }
    }

    #[test]
    fn a_read_goes_unmapped_and_leaves_the_map_as_it_was() {
        let db = open();
        // SAFETY: this thread's own connection.
        unsafe { pragma_mmap_size(db.db, MMAP_SIZE) };
        assert_eq!(mmap_size(&db), MMAP_SIZE);
        // SAFETY: as above.
        let unmapped = unsafe { Unmapped::new(db.db) };
        assert_eq!(mmap_size(&db), 0);
        drop(unmapped);
        assert_eq!(mmap_size(&db), MMAP_SIZE);
    }

    #[test]
    fn only_one_read_only_statement_with_every_parameter_is_read_here() {
        let db = open();
        // SAFETY: this thread's own connection, for each statement in turn.
        unsafe {
            assert!(Statement::prepare(db.db, "SELECT :a AS a", &[serde_json::json!(1)]).is_some());
            assert!(Statement::prepare(db.db, "SELECT :a AS a", &[]).is_none());
            assert!(Statement::prepare(db.db, "CREATE TABLE t (a)", &[]).is_none());
            assert!(Statement::prepare(db.db, "SELECT 1; SELECT 2", &[]).is_none());
            assert!(Statement::prepare(db.db, "SELECT FROM", &[]).is_none());
        }
    }
}
