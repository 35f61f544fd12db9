//! What a fit trains from: the extract read whole and encoded in memory, or streamed in batches
//! whose rows are spilled to Parquet per split and encoded again as the estimator reads them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;

use super::ModelSpec;
use crate::check::{self, Policy};
use crate::encoders::{FittedEncoder, OutputState};
use crate::env::Project;
use crate::error::{Error, Result};
use crate::estimators::{InMemory, LabelledBatches};
use crate::frame;
use crate::io::{Database, Extract, Origin, ProjectConnection, ReadOptions};
use crate::metrics::Timings;
use crate::pipelines::{EncodedSplits, FittedPipeline, Matrix, ENCODING_VERSION};
use crate::profile::{self, Profile, Profiler};
use crate::progress::Progress;

/// The fitted pipeline and the train, validation and test splits, encoded, to read in batches.
pub(super) struct Prepared {
    pub(super) pipeline: FittedPipeline,
    /// The profile of the extract's rows as read.
    pub(super) profile: Profile,
    pub(super) splits: [Box<dyn LabelledBatches + Send>; 3],
    /// The folder of the spilled batches, removed when the fit is done with them.
    pub(super) spill: Option<Spill>,
}

/// New rows checked against a fitting's profile before a fit learns from them.
#[derive(Debug, Clone)]
pub struct CheckFirst {
    /// The fitting whose profile the rows are held to, as the error names it.
    pub fitting: String,
    /// Its profile.
    pub reference: Profile,
    /// The thresholds.
    pub policy: Policy,
}

impl CheckFirst {
    /// Refuses `df`, rows of `extract`, where it fails a quality check (a column gone, too few
    /// rows, a kind changed, a burst of nulls); drift alone, which a new fit is for, passes.
    fn refuse_broken(&self, df: &DataFrame, extract: &str) -> Result<()> {
        let report = check::check(&self.reference, df, None, &self.policy)?;
        if report.problems.is_empty() {
            return Ok(());
        }
        Err(Error::CheckFailed {
            extract: extract.to_string(),
            fitting: self.fitting.clone(),
            problems: report.problems,
        })
    }
}

/// The key of a cached extract's profile, beside its encoded splits: a profile made the way
/// an older Lore made it is made again.
fn profile_key(encoding_key: &str) -> String {
    format!("{encoding_key}-profile-v{}", profile::PROFILE_VERSION)
}

/// The profile of `df`, with its share of duplicate rows.
pub(super) fn profile_whole(df: &DataFrame) -> Result<Profile> {
    let mut profiler = Profiler::default();
    profiler.update(df)?;
    let mut profile = profiler.finish();
    profile.duplicates = Some(profile::duplicate_share(df)?);
    Ok(profile)
}

/// Reads the extract whole, splits it exactly by its shares, fits encoders on train, encodes.
/// With a cached extract, the encoded splits (and the rows' profile) are cached too, so the next
/// fit of the same rows through the same pipeline (another estimator, other parameters) starts
/// from them.
pub(super) async fn prepare_whole(
    spec: &ModelSpec,
    connection: &ProjectConnection,
    extract: &Extract,
    origin: Origin,
    check_first: Option<&CheckFirst>,
    progress: &Progress,
    seconds: &mut Timings,
) -> Result<Prepared> {
    let t = Instant::now();
    let encoding_key = match spec.pipeline.extract.cache {
        true => spec
            .pipeline
            .encoding_key(&connection.extract_key(extract, &spec.pipeline.extract.params)?),
        false => None,
    };
    // The rows must be read again to be checked.
    if let Some(key) = encoding_key.as_ref().filter(|_| check_first.is_none()) {
        // An entry that cannot be read (a file from another version, cut short) is encoded
        // again and replaced rather than failing the fit.
        let cached = connection.cache().get(key).and_then(|cached| {
            let Some(df) = cached else {
                return Ok(None);
            };
            let Some(profile) = connection.cache().get(&profile_key(key))? else {
                return Ok(None);
            };
            let text = frame::text(&profile, "profile", "the cached profile")?;
            let profile: Profile = serde_json::from_str(text.get(0).unwrap_or_default())
                .map_err(|e| Error::Data(format!("the cached profile: {e}")))?;
            Ok(Some((
                EncodedSplits::from_frame(&df)?,
                df.height(),
                profile,
            )))
        });
        match cached {
            Ok(Some((encoded, rows, profile))) => {
                seconds.extract = t.elapsed().as_secs_f64();
                tracing::info!(
                    rows,
                    seconds = seconds.extract,
                    "encoded splits of {} read from the query cache (transformers and encoders \
                     not run again)",
                    extract.path.display()
                );
                return Ok(in_memory(encoded, profile));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}; encoding the extract again"),
        }
    }
    let options = ReadOptions {
        cache: Some(spec.pipeline.extract.cache),
        origin,
    };
    let df = connection
        .read_extract(extract, &spec.pipeline.extract.params, &options)
        .await?;
    if df.height() == 0 {
        return Err(Error::config(
            &extract.path,
            "the extract returned no rows; check its SQL and parameters",
        ));
    }
    seconds.extract = t.elapsed().as_secs_f64();
    tracing::info!(
        rows = df.height(),
        seconds = seconds.extract,
        "extracted {}",
        extract.path.display()
    );

    let (encoded, profile) = prepare_rows(spec, df, check_first, progress, seconds)?;
    if let Some(key) = &encoding_key {
        if let Some(frame) = encoded.to_frame()? {
            let json = serde_json::to_string(&profile)
                .map_err(|e| Error::Data(format!("the profile: {e}")))?;
            let saved = DataFrame::new(
                1,
                vec![frame::text_column("profile", std::iter::once(Some(json)))],
            )?;
            connection.cache().put(&profile_key(key), &saved)?;
            connection.cache().put(key, &frame)?;
        }
    }
    Ok(in_memory(encoded, profile))
}

/// The rows of `spec`'s extract, read whole with its parameters (through the query cache where
/// the spec caches it); `site` names the caller in the statement's comment and in errors.
pub(super) async fn read_whole(
    project: &Project,
    spec: &ModelSpec,
    site: String,
) -> Result<DataFrame> {
    let extract = Extract::load(&project.extracts_dir(), &spec.pipeline.extract.sql)?;
    let options = ReadOptions {
        cache: Some(spec.pipeline.extract.cache),
        origin: Origin {
            model: Some(spec.name.clone()),
            site,
        },
    };
    Database::new(project)?
        .connection(&spec.pipeline.extract.connection)?
        .read_extract(&extract, &spec.pipeline.extract.params, &options)
        .await
}

/// Checks (where asked), profiles, transforms, splits and encodes the rows `df` read whole.
pub(super) fn prepare_rows(
    spec: &ModelSpec,
    df: DataFrame,
    check_first: Option<&CheckFirst>,
    progress: &Progress,
    seconds: &mut Timings,
) -> Result<(EncodedSplits, Profile)> {
    if let Some(check_first) = check_first {
        check_first.refuse_broken(&df, &spec.pipeline.extract.sql)?;
    }
    let profile = profile_whole(&df)?;
    progress.stage("transforming and encoding");
    spec.pipeline.check_columns(&column_names(&df))?;
    Ok((spec.pipeline.fit_encode(df, seconds)?, profile))
}

/// Encoded splits held in memory, to read as one batch each.
pub(super) fn in_memory(encoded: EncodedSplits, profile: Profile) -> Prepared {
    let EncodedSplits { pipeline, x, y } = encoded;
    let [x0, x1, x2] = x;
    let [y0, y1, y2] = y;
    Prepared {
        pipeline,
        profile,
        splits: [
            Box::new(InMemory::new(x0, y0)),
            Box::new(InMemory::new(x1, y1)),
            Box::new(InMemory::new(x2, y2)),
        ],
        spill: None,
    }
}

/// How a streamed fit reads: batches of `batch_rows` rows, spilled under `spill_dir`.
pub(super) struct Streaming {
    pub(super) spill_dir: PathBuf,
    pub(super) batch_rows: usize,
}

/// A folder of spilled batches under `data/cache/`, removed when dropped.
pub(super) struct Spill {
    dir: PathBuf,
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The names of the splits, as spill files are named.
const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// Streams the extract in batches: each batch is transformed, its rows assigned to a split by a
/// seeded hash, the training rows fed to the encoders, and the columns the encoders need spilled
/// to one Parquet file per split. Only one batch of raw rows is in memory at a time; the estimator
/// then reads the spilled splits back a batch at a time, encoding as it goes.
pub(super) async fn prepare_streamed(
    Streaming {
        spill_dir,
        batch_rows,
    }: Streaming,
    spec: &ModelSpec,
    connection: &ProjectConnection,
    origin: Origin,
    check_first: Option<&CheckFirst>,
    progress: &Progress,
    seconds: &mut Timings,
) -> Result<Prepared> {
    let t = Instant::now();
    progress.stage(&format!(
        "streaming {} in batches of {batch_rows} rows",
        spec.pipeline.extract.sql
    ));
    let spill = Spill { dir: spill_dir };
    std::fs::create_dir_all(&spill.dir).map_err(|e| Error::io(&spill.dir, e))?;
    let (states, output, files, first_rows, profile) = stream_to_spill(
        spec,
        connection,
        batch_rows,
        origin,
        check_first,
        &spill.dir,
    )
    .await?;
    seconds.extract = t.elapsed().as_secs_f64();
    let rows: Vec<usize> = files
        .iter()
        .map(|f| f.iter().map(|(_, n)| n).sum())
        .collect();
    tracing::info!(
        train = rows[0],
        validation = rows[1],
        test = rows[2],
        seconds = seconds.extract,
        "streamed and spilled"
    );
    let output = output.finish().map_err(|e| e.in_spec("pipeline.output"))?;
    let encoders: Vec<FittedEncoder> = states
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.finish(&output)
                .map_err(|e| e.in_spec(format!("pipeline.encoders.{i}")))
        })
        .collect::<Result<_>>()?;
    let pipeline = Arc::new(
        FittedPipeline {
            encoding: ENCODING_VERSION,
            transformers: spec.pipeline.transformers.clone(),
            features: encoders.iter().flat_map(FittedEncoder::features).collect(),
            encoders,
            output,
            input_kinds: Default::default(),
        }
        .with_input_kinds(&first_rows),
    );
    let [f0, f1, f2] = files;
    let batches = |files, split: &str| -> Box<dyn LabelledBatches + Send> {
        Box::new(SpilledBatches {
            files,
            pipeline: Arc::clone(&pipeline),
            pages: spill.dir.join(format!("xgboost-{split}")),
            training: split == SPLITS[0],
            at: 0,
            first: 0,
            current: None,
        })
    };
    let splits = [
        batches(f0, SPLITS[0]),
        batches(f1, SPLITS[1]),
        batches(f2, SPLITS[2]),
    ];
    Ok(Prepared {
        pipeline: pipeline.as_ref().clone(),
        profile,
        splits,
        spill: Some(spill),
    })
}

/// Spilled files of one split, with their row counts.
type SpilledFiles = Vec<(PathBuf, usize)>;

async fn stream_to_spill(
    spec: &ModelSpec,
    connection: &ProjectConnection,
    batch_rows: usize,
    origin: Origin,
    check_first: Option<&CheckFirst>,
    spill: &Path,
) -> Result<(
    Vec<crate::encoders::EncoderState>,
    OutputState,
    [SpilledFiles; 3],
    DataFrame,
    Profile,
)> {
    let mut output = spec.pipeline.output.start();
    let mut states = spec
        .pipeline
        .encoders
        .iter()
        .map(|e| e.start(&spec.pipeline.output))
        .collect::<Result<Vec<_>>>()?;
    let keep = spec.pipeline.encoded_columns();
    let mut batches = connection
        .batches(
            &spec.pipeline.extract.sql,
            &spec.pipeline.extract.params,
            batch_rows,
            origin,
        )
        .await?;
    let (mut row, mut batch_no) = (0u64, 0usize);
    let mut files: [SpilledFiles; 3] = Default::default();
    let mut first_rows = DataFrame::empty();
    let mut profiler = Profiler::default();
    while let Some(batch) = batches.next().await {
        let mut df = batch?;
        // Each batch is checked as it comes: a column gone, a kind changed or a burst of nulls
        // shows in any of them.
        if let Some(check_first) = check_first {
            check_first.refuse_broken(&df, &spec.pipeline.extract.sql)?;
        }
        profiler.update(&df)?;
        if batch_no == 0 {
            spec.pipeline.check_columns(&column_names(&df))?;
            // The first rows, as read, are what the input kinds are found from.
            first_rows = df.head(Some(crate::pipelines::KIND_ROWS));
        }
        spec.pipeline.transform(&mut df)?;
        let split = spec.pipeline.split.assign_batch(&df, row)?;
        row += df.height() as u64;
        let slim = df.select(keep.iter().map(|c| c.as_str()))?;
        drop(df);
        output
            .update(&slim)
            .map_err(|e| e.in_spec("pipeline.output"))?;
        for (k, name) in SPLITS.iter().enumerate() {
            let mask = BooleanChunked::from_iter_values(
                "split".into(),
                split.iter().map(|s| usize::from(*s) == k),
            );
            let mut part = slim.filter(&mask)?;
            if part.height() == 0 {
                continue;
            }
            if k == 0 {
                for (i, state) in states.iter_mut().enumerate() {
                    state
                        .update(&part)
                        .map_err(|e| e.in_spec(format!("pipeline.encoders.{i}")))?;
                }
            }
            let path = spill.join(format!("{name}-{batch_no:06}.parquet"));
            let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            ParquetWriter::new(file).finish(&mut part)?;
            files[k].push((path, part.height()));
        }
        batch_no += 1;
    }
    if row == 0 {
        return Err(Error::Data(format!(
            "extract {} returned no rows; check its SQL and parameters",
            spec.pipeline.extract.sql
        )));
    }
    Ok((states, output, files, first_rows, profiler.finish()))
}

/// One split's spilled files, read back and encoded a file at a time.
struct SpilledBatches {
    files: SpilledFiles,
    pipeline: Arc<FittedPipeline>,
    /// Where the estimator may page its copy of the split out to.
    pages: PathBuf,
    /// Whether these are the training rows, encoded as the estimator learns from them.
    training: bool,
    at: usize,
    /// The position of the next file's first row in the split.
    first: u64,
    current: Option<(Matrix, Vec<f32>)>,
}

impl LabelledBatches for SpilledBatches {
    fn rows(&self) -> usize {
        self.files.iter().map(|(_, n)| n).sum()
    }

    fn reset(&mut self) -> Result<()> {
        self.at = 0;
        self.first = 0;
        self.current = None;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
        self.current = None;
        let Some((path, _)) = self.files.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        let x = match self.training {
            true => self.pipeline.encode_training(&df, self.first)?,
            false => self.pipeline.encode(&df)?,
        };
        self.first += df.height() as u64;
        let y = self.pipeline.output.labels(&df)?;
        let (x, y) = self.current.insert((x, y));
        Ok(Some((x, y.as_slice())))
    }

    fn page_to(&self) -> Option<&Path> {
        Some(&self.pages)
    }

    fn cursor(&self) -> Option<Box<dyn LabelledBatches + Send + '_>> {
        // Each reader pages to its own files.
        static READERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = READERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Box::new(SpilledBatches {
            files: self.files.clone(),
            pipeline: Arc::clone(&self.pipeline),
            pages: self.pages.with_extension(format!("reader{n}")),
            training: self.training,
            at: 0,
            first: 0,
            current: None,
        }))
    }
}

/// The names of the columns of `df`.
pub(super) fn column_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect()
}
