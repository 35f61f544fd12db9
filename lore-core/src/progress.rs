//! Progress of long-running work, drawn on stderr with indicatif when it is a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress display for one fit: a spinner per stage, a bar for boosting rounds.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A new display; hidden when `quiet` (indicatif also hides it when stderr is not a terminal).
    pub fn new(quiet: bool) -> Progress {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    /// Shows that a new stage started.
    pub fn stage(&self, name: &str) {
        tracing::debug!("stage: {name}");
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        self.bar.set_message(name.to_string());
    }

    /// Turns the spinner into a bar of `total` steps drawn by `template`.
    fn bar_of(&self, template: &str, total: u64) {
        self.bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_length(total);
    }

    /// Shows boosting round `round` of at most `total`.
    pub fn rounds(&self, round: u32, total: u32) {
        if round == 1 {
            self.bar_of(
                "{spinner} fitting {bar:30} {pos}/{len} rounds [{elapsed}]",
                total.into(),
            );
        }
        self.bar.set_position(round as u64);
    }

    /// Shows `done` of `total` search trials and the best score so far.
    pub fn trials(&self, done: usize, total: usize, best: Option<f64>) {
        if done == 0 {
            self.bar_of(
                "{spinner} searching {bar:30} {pos}/{len} trials, best {msg} [{elapsed}]",
                total as u64,
            );
        }
        self.bar.set_position(done as u64);
        self.bar
            .set_message(best.map_or("-".to_string(), |b| format!("{b:.4}")));
    }
}

/// Progress of a long read: rows so far and rows per second.
pub struct RowsProgress {
    bar: ProgressBar,
}

impl RowsProgress {
    /// A spinner labelled `label` (drawn only on a terminal).
    pub fn new(label: &str) -> RowsProgress {
        RowsProgress {
            bar: ticking(
                ProgressBar::new_spinner(),
                "{spinner} {msg}: {human_pos} rows ({per_sec}) [{elapsed}]",
                label,
            ),
        }
    }

    /// Counts `rows` more rows.
    pub fn add(&self, rows: usize) {
        self.bar.inc(rows as u64);
    }
}

/// Progress of copying a fitting's files to or from object storage: bytes so far of the total.
pub struct TransferProgress {
    bar: ProgressBar,
}

impl TransferProgress {
    /// A bar of `total` bytes labelled `label`; hidden unless `visible` (and on a terminal).
    pub fn new(visible: bool, label: &str, total: u64) -> TransferProgress {
        let bar = match visible {
            true => ProgressBar::new(total),
            false => ProgressBar::hidden(),
        };
        TransferProgress {
            bar: ticking(
                bar,
                "{spinner} {msg} {bar:30} {binary_bytes}/{binary_total_bytes} [{elapsed}]",
                label,
            ),
        }
    }

    /// Counts `bytes` more bytes copied.
    pub fn add(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
}

/// `bar` drawn by `template` (a plain bar if the template is bad), labelled `label`, redrawn
/// five times a second so that the elapsed time moves between updates.
fn ticking(bar: ProgressBar, template: &str, label: &str) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `finish` and `Drop` for the displays, which wrap a `bar`: both clear it.
macro_rules! cleared {
    ($($t:ty),+) => {$(
        impl $t {
            /// Clears the display.
            pub fn finish(&self) {
                self.bar.finish_and_clear();
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                self.bar.finish_and_clear();
            }
        }
    )+};
}

cleared!(Progress, RowsProgress, TransferProgress);
