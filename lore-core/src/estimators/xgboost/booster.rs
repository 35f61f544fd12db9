//! XGBoost's C API, wrapped safely: boosters, dense matrices, and quantised matrices built from
//! batches. The `xgb` crate's wrapper cannot build a matrix from batches (XGBoost's
//! `QuantileDMatrix`), evaluate with XGBoost's own metrics or score features, so Lore calls the
//! same library (`xgboost_lib-sys`, built from source) through this module instead.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::ptr;

use xgboost_sys as sys;

use crate::error::{Error, Result};
use crate::estimators::LabelledBatches;
use crate::pipelines::{Csr, Matrix, Values};

/// The histogram bins of every quantised matrix; the booster's `max_bin` must agree.
pub const MAX_BIN: u32 = 256;

fn last_error() -> String {
    // SAFETY: XGBoost returns a pointer to a thread-local, NUL-terminated message.
    let message = unsafe { sys::XGBGetLastError() };
    if message.is_null() {
        return "XGBoost failed without a message".into();
    }
    // SAFETY: checked non-null above; the message outlives this copy.
    unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .trim()
        .to_string()
}

fn check(status: c_int) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(Error::Estimator(last_error()))
    }
}

fn c_string(text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error::Estimator(format!("`{text}` contains a NUL byte")))
}

/// An element type XGBoost reads through an array interface.
trait Element {
    /// Its `typestr`: byte order, kind and size.
    const TYPESTR: &'static str;
}

impl Element for f32 {
    const TYPESTR: &'static str = "<f4";
}

impl Element for u32 {
    const TYPESTR: &'static str = "<u4";
}

impl Element for u64 {
    const TYPESTR: &'static str = "<u8";
}

/// The `__array_interface__` JSON XGBoost reads a borrowed array through.
fn array_interface<T: Element>(values: &[T], shape: &[usize]) -> Result<CString> {
    let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
    c_string(&format!(
        r#"{{"data":[{},true],"shape":[{}],"typestr":"{}","version":3}}"#,
        values.as_ptr() as usize,
        shape.join(","),
        T::TYPESTR
    ))
}

/// The array interfaces of a sparse matrix's row starts, column indices and values.
fn csr_interfaces(csr: &Csr) -> Result<[CString; 3]> {
    Ok([
        array_interface(&csr.indptr, &[csr.indptr.len()])?,
        array_interface(&csr.indices, &[csr.indices.len()])?,
        array_interface(&csr.values, &[csr.values.len()])?,
    ])
}

fn copy_floats(shape: *const sys::bst_ulong, dim: sys::bst_ulong, out: *const f32) -> Vec<f32> {
    if shape.is_null() || out.is_null() {
        return Vec::new();
    }
    // SAFETY: XGBoost hands back `dim` extents and a buffer of their product, valid until the
    // booster's next call; both are copied before that.
    let extents = unsafe { std::slice::from_raw_parts(shape, dim as usize) };
    let len = extents.iter().product::<sys::bst_ulong>() as usize;
    unsafe { std::slice::from_raw_parts(out, len) }.to_vec()
}

/// A matrix XGBoost owns: the quantised bins of labelled rows.
pub struct DMatrix {
    handle: sys::DMatrixHandle,
    /// The proxy the rows came through, which XGBoost's matrix may still point at; dropped after.
    _proxy: Option<Proxy>,
}

impl Drop for DMatrix {
    fn drop(&mut self) {
        // SAFETY: the handle came from XGBoost and is freed once, before its proxy.
        unsafe { sys::XGDMatrixFree(self.handle) };
    }
}

/// XGBoost's proxy matrix, through which batches are handed over.
struct Proxy(sys::DMatrixHandle);

impl Drop for Proxy {
    fn drop(&mut self) {
        // SAFETY: the handle came from XGBoost and is freed once.
        unsafe { sys::XGDMatrixFree(self.0) };
    }
}

impl Proxy {
    /// A new, empty proxy.
    fn new() -> Result<Proxy> {
        let mut handle = ptr::null_mut();
        // SAFETY: XGBoost writes a new handle.
        check(unsafe { sys::XGProxyDMatrixCreate(&mut handle) })?;
        Ok(Proxy(handle))
    }
}

thread_local! {
    /// The proxy in-place predictions on this thread hand their rows over through. Without one,
    /// XGBoost makes a proxy for every call, and making one reads the machine's cgroup files to
    /// count its cores: two thirds of the time of a one-row prediction.
    static PREDICTION_PROXY: std::cell::RefCell<Option<Proxy>> = const { std::cell::RefCell::new(None) };
}

/// Calls `f` with this thread's prediction proxy, made on first use.
fn with_prediction_proxy<T>(f: impl FnOnce(sys::DMatrixHandle) -> Result<T>) -> Result<T> {
    PREDICTION_PROXY.with(|slot| {
        let mut slot = slot.borrow_mut();
        let proxy = match slot.take() {
            Some(proxy) => proxy,
            None => Proxy::new()?,
        };
        let handle = proxy.0;
        *slot = Some(proxy);
        f(handle)
    })
}

/// What the callbacks of [`DMatrix::quantised`] share with the caller.
struct Feed<'a> {
    source: &'a mut dyn LabelledBatches,
    proxy: sys::DMatrixHandle,
    columns: Option<usize>,
    error: Option<Error>,
}

impl Feed<'_> {
    fn next(&mut self) -> Result<bool> {
        let proxy = self.proxy;
        let Some((x, y)) = self.source.next_batch()? else {
            return Ok(false);
        };
        if x.rows != y.len() {
            return Err(Error::Estimator(format!(
                "a batch has {} rows of features but {} labels",
                x.rows,
                y.len()
            )));
        }
        match self.columns {
            Some(c) if c != x.columns => {
                return Err(Error::Estimator(format!(
                    "a batch has {} feature columns where the first had {c}",
                    x.columns
                )))
            }
            _ => self.columns = Some(x.columns),
        }
        let labels = array_interface(y, &[y.len()])?;
        let field = c_string("label")?;
        // SAFETY: the proxy only borrows the batch, which the source keeps alive until its next
        // call; XGBoost asks for the next batch only after it is done with this one.
        match &x.values {
            Values::Dense(values) => {
                let data = array_interface(values, &[x.rows, x.columns])?;
                check(unsafe { sys::XGProxyDMatrixSetDataDense(proxy, data.as_ptr()) })?;
            }
            Values::Sparse(csr) => {
                let [indptr, indices, values] = csr_interfaces(csr)?;
                check(unsafe {
                    sys::XGProxyDMatrixSetDataCSR(
                        proxy,
                        indptr.as_ptr(),
                        indices.as_ptr(),
                        values.as_ptr(),
                        x.columns as sys::bst_ulong,
                    )
                })?;
            }
        }
        check(unsafe {
            sys::XGDMatrixSetInfoFromInterface(proxy, field.as_ptr(), labels.as_ptr())
        })?;
        Ok(true)
    }
}

unsafe extern "C" fn feed_next(handle: sys::DataIterHandle) -> c_int {
    // SAFETY: `handle` is the `Feed` that `DMatrix::quantised` passed and still owns.
    let feed = unsafe { &mut *(handle as *mut Feed) };
    if feed.error.is_some() {
        return 0;
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| feed.next()));
    match result {
        Ok(Ok(more)) => c_int::from(more),
        Ok(Err(e)) => {
            feed.error = Some(e);
            0
        }
        Err(_) => {
            feed.error = Some(Error::Estimator("reading a batch panicked".into()));
            0
        }
    }
}

unsafe extern "C" fn feed_reset(handle: sys::DataIterHandle) {
    // SAFETY: as in `feed_next`.
    let feed = unsafe { &mut *(handle as *mut Feed) };
    if feed.error.is_some() {
        return;
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| feed.source.reset()));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => feed.error = Some(e),
        Err(_) => feed.error = Some(Error::Estimator("restarting the batches panicked".into())),
    }
}

impl DMatrix {
    /// Quantises labelled rows read batch by batch: XGBoost keeps a histogram bin per value
    /// instead of the value, so the rows never have to be in memory as floats. With `pages`,
    /// XGBoost writes the bins to files starting with that path and reads them back a page at
    /// a time while it trains (its external memory), so not even the bins have to fit in memory.
    /// `reference` gives the bin edges of an earlier matrix (validation uses training's).
    pub fn quantised(
        source: &mut dyn LabelledBatches,
        reference: Option<&DMatrix>,
        threads: u32,
        pages: Option<&Path>,
    ) -> Result<DMatrix> {
        let mut proxy = ptr::null_mut();
        // SAFETY: creates a proxy handle, freed by `Proxy`'s drop.
        check(unsafe { sys::XGProxyDMatrixCreate(&mut proxy) })?;
        let proxy = Proxy(proxy);
        let mut feed = Feed {
            source,
            proxy: proxy.0,
            columns: None,
            error: None,
        };
        let mut config = serde_json::json!({"nthread": threads, "max_bin": MAX_BIN});
        if let Some(prefix) = pages {
            config["cache_prefix"] = prefix.display().to_string().into();
        }
        // serde_json has no NaN; XGBoost's reader takes the bare word.
        let config = c_string(&config.to_string().replacen('{', r#"{"missing":NaN,"#, 1))?;
        let create = match pages {
            Some(_) => sys::XGExtMemQuantileDMatrixCreateFromCallback,
            None => sys::XGQuantileDMatrixCreateFromCallback,
        };
        let mut out = ptr::null_mut();
        // SAFETY: `feed` outlives the call; XGBoost calls back into it only during the call
        // (external memory releases the iterator once its pages are written, before returning).
        let status = unsafe {
            create(
                &mut feed as *mut Feed as *mut c_void,
                proxy.0,
                reference.map_or(ptr::null_mut(), |r| r.handle),
                Some(feed_reset),
                Some(feed_next),
                config.as_ptr(),
                &mut out,
            )
        };
        let built = (!out.is_null()).then_some(DMatrix {
            handle: out,
            _proxy: Some(proxy),
        });
        if let Some(e) = feed.error {
            return Err(e);
        }
        check(status)?;
        built.ok_or_else(|| Error::Estimator("XGBoost built no matrix".into()))
    }

    /// An XGBoost matrix holding a copy of the rows of `x` (missing values NaN), for the
    /// predictions XGBoost cannot make in place.
    pub fn from_matrix(x: &Matrix) -> Result<DMatrix> {
        let config = c_string(r#"{"missing":NaN,"nthread":0}"#)?;
        let mut out = ptr::null_mut();
        // SAFETY: XGBoost copies the borrowed arrays during the call.
        match &x.values {
            Values::Dense(values) => {
                let data = array_interface(values, &[x.rows, x.columns])?;
                check(unsafe {
                    sys::XGDMatrixCreateFromDense(data.as_ptr(), config.as_ptr(), &mut out)
                })?;
            }
            Values::Sparse(csr) => {
                let [indptr, indices, values] = csr_interfaces(csr)?;
                check(unsafe {
                    sys::XGDMatrixCreateFromCSR(
                        indptr.as_ptr(),
                        indices.as_ptr(),
                        values.as_ptr(),
                        x.columns as sys::bst_ulong,
                        config.as_ptr(),
                        &mut out,
                    )
                })?;
            }
        }
        if out.is_null() {
            return Err(Error::Estimator("XGBoost built no matrix".into()));
        }
        Ok(DMatrix {
            handle: out,
            _proxy: None,
        })
    }

    /// The labels XGBoost holds for the rows.
    pub fn labels(&self) -> Result<Vec<f32>> {
        let field = c_string("label")?;
        let mut len = 0;
        let mut out = ptr::null();
        // SAFETY: XGBoost points `out` at `len` floats it owns; they are copied at once.
        check(unsafe {
            sys::XGDMatrixGetFloatInfo(self.handle, field.as_ptr(), &mut len, &mut out)
        })?;
        if out.is_null() {
            return Ok(Vec::new());
        }
        Ok(unsafe { std::slice::from_raw_parts(out, len as usize) }.to_vec())
    }
}

/// What a booster predicts, by XGBoost's number for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    /// The prediction itself (a probability for a classifier).
    Value = 0,
    /// Each feature's SHAP contribution to the margin, and the bias.
    Contributions = 2,
}

/// A gradient-boosted model, being trained or loaded.
pub struct Booster {
    handle: sys::BoosterHandle,
}

// SAFETY: a booster handle is not tied to the thread that made it.
unsafe impl Send for Booster {}

// SAFETY: since XGBoost 1.4 prediction on a booster is thread-safe: each thread gets its own
// result buffer (XGBAPIThreadLocalEntry), and `&self` methods only predict, evaluate or save.
// Training (`&mut self`) still needs the booster to itself, which the borrow checker ensures.
unsafe impl Sync for Booster {}

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from XGBoost and is freed once.
        unsafe { sys::XGBoosterFree(self.handle) };
    }
}

impl Booster {
    /// A new booster that caches predictions for `matrices` and takes `params`.
    pub fn new(matrices: &[&DMatrix], params: &[(&str, String)]) -> Result<Booster> {
        let handles: Vec<sys::DMatrixHandle> = matrices.iter().map(|m| m.handle).collect();
        let mut handle = ptr::null_mut();
        // SAFETY: the handles are valid for the call; XGBoost keeps its own references.
        check(unsafe {
            sys::XGBoosterCreate(
                handles.as_ptr(),
                handles.len() as sys::bst_ulong,
                &mut handle,
            )
        })?;
        let mut booster = Booster { handle };
        for (key, value) in params {
            booster.set_param(key, value)?;
        }
        Ok(booster)
    }

    /// Sets one of XGBoost's parameters by its own name.
    pub fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let (k, v) = (c_string(key)?, c_string(value)?);
        // SAFETY: valid handle and NUL-terminated strings.
        check(unsafe { sys::XGBoosterSetParam(self.handle, k.as_ptr(), v.as_ptr()) })
            .map_err(|e| Error::Estimator(format!("XGBoost parameter {key}={value}: {e}")))
    }

    /// Runs boosting round `round` on `train`.
    pub fn update(&mut self, train: &DMatrix, round: u32) -> Result<()> {
        // SAFETY: valid handles.
        check(unsafe { sys::XGBoosterUpdateOneIter(self.handle, round as c_int, train.handle) })
    }

    /// XGBoost's evaluation metric on each named matrix after `round`, in the order given.
    pub fn evaluate(&mut self, round: u32, matrices: &[(&str, &DMatrix)]) -> Result<Vec<f64>> {
        let names = matrices
            .iter()
            .map(|(n, _)| c_string(n))
            .collect::<Result<Vec<_>>>()?;
        let mut handles: Vec<sys::DMatrixHandle> = matrices.iter().map(|(_, m)| m.handle).collect();
        let mut name_ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        let mut out = ptr::null();
        // SAFETY: the arrays live across the call; XGBoost returns a string it owns.
        check(unsafe {
            sys::XGBoosterEvalOneIter(
                self.handle,
                round as c_int,
                handles.as_mut_ptr(),
                name_ptrs.as_mut_ptr(),
                handles.len() as sys::bst_ulong,
                &mut out,
            )
        })?;
        if out.is_null() {
            return Err(Error::Estimator("XGBoost evaluated nothing".into()));
        }
        // SAFETY: non-null, NUL-terminated, copied at once.
        let text = unsafe { CStr::from_ptr(out) }
            .to_string_lossy()
            .into_owned();
        parse_evaluation(&text, matrices.len())
    }

    /// The model's output (`what`) for every row of `matrix`.
    pub fn predict(&self, matrix: &DMatrix, what: Prediction) -> Result<Vec<f32>> {
        let config = c_string(&format!(
            r#"{{"type":{},"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false}}"#,
            what as u8
        ))?;
        let (mut shape, mut dim, mut out) = (ptr::null(), 0, ptr::null());
        // SAFETY: valid handles; the result is copied before the next call on the booster.
        check(unsafe {
            sys::XGBoosterPredictFromDMatrix(
                self.handle,
                matrix.handle,
                config.as_ptr(),
                &mut shape,
                &mut dim,
                &mut out,
            )
        })?;
        Ok(copy_floats(shape, dim, out))
    }

    /// The model's output (`what`) for every row of a dense or sparse matrix, without building
    /// an XGBoost matrix.
    pub fn predict_matrix(&self, x: &Matrix, what: Prediction) -> Result<Vec<f32>> {
        if x.rows == 0 {
            return Ok(Vec::new());
        }
        if what != Prediction::Value {
            // XGBoost predicts in place only values; contributions need a matrix of its own.
            return self.predict(&DMatrix::from_matrix(x)?, what);
        }
        let config = c_string(&format!(
            r#"{{"type":{},"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN}}"#,
            what as u8
        ))?;
        // SAFETY: `x` outlives the call; the proxy is this thread's alone and only points at `x`
        // during it; the result is copied before the next call.
        with_prediction_proxy(|proxy| {
            let (mut shape, mut dim, mut out) = (ptr::null(), 0, ptr::null());
            match &x.values {
                Values::Dense(values) => {
                    let values = array_interface(values, &[x.rows, x.columns])?;
                    check(unsafe {
                        sys::XGBoosterPredictFromDense(
                            self.handle,
                            values.as_ptr(),
                            config.as_ptr(),
                            proxy,
                            &mut shape,
                            &mut dim,
                            &mut out,
                        )
                    })?;
                }
                Values::Sparse(csr) => {
                    let [indptr, indices, values] = csr_interfaces(csr)?;
                    check(unsafe {
                        sys::XGBoosterPredictFromCSR(
                            self.handle,
                            indptr.as_ptr(),
                            indices.as_ptr(),
                            values.as_ptr(),
                            x.columns as sys::bst_ulong,
                            config.as_ptr(),
                            proxy,
                            &mut shape,
                            &mut dim,
                            &mut out,
                        )
                    })?;
                }
            }
            Ok(copy_floats(shape, dim, out))
        })
    }

    /// The first `rounds` rounds as a booster of their own, holding no training matrices.
    pub fn first_rounds(&self, rounds: u32) -> Result<Booster> {
        let mut sliced = ptr::null_mut();
        // SAFETY: valid handle; XGBoost makes a new booster.
        check(unsafe { sys::XGBoosterSlice(self.handle, 0, rounds as c_int, 1, &mut sliced) })?;
        let sliced = Booster { handle: sliced };
        // A booster keeps the matrices it trained on alive; one loaded from its saved form does not.
        Booster::load(&sliced.save("json")?)
    }

    /// The model in XGBoost's own `json` or `ubj` format, loadable by any XGBoost.
    pub fn save(&self, format: &str) -> Result<Vec<u8>> {
        let config = c_string(&format!(r#"{{"format":"{format}"}}"#))?;
        let (mut len, mut out) = (0, ptr::null());
        // SAFETY: XGBoost points `out` at `len` bytes it owns; they are copied at once.
        check(unsafe {
            sys::XGBoosterSaveModelToBuffer(self.handle, config.as_ptr(), &mut len, &mut out)
        })?;
        if out.is_null() {
            return Ok(Vec::new());
        }
        Ok(unsafe { std::slice::from_raw_parts(out as *const u8, len as usize) }.to_vec())
    }

    /// A booster from bytes written by [`Booster::save`] (or any XGBoost).
    pub fn load(bytes: &[u8]) -> Result<Booster> {
        let mut handle = ptr::null_mut();
        // SAFETY: an empty booster, then loaded from a buffer that lives across the call.
        check(unsafe { sys::XGBoosterCreate(ptr::null(), 0, &mut handle) })?;
        let booster = Booster { handle };
        check(unsafe {
            sys::XGBoosterLoadModelFromBuffer(
                booster.handle,
                bytes.as_ptr() as *const c_void,
                bytes.len() as sys::bst_ulong,
            )
        })?;
        Ok(booster)
    }

    /// XGBoost's importance score `kind` (`weight`, `total_gain`, `total_cover`, ...) of each
    /// feature, by feature index (0 for unused features).
    pub fn feature_scores(&self, features: usize, kind: &str) -> Result<Vec<f64>> {
        let config = c_string(&format!(r#"{{"importance_type":"{kind}"}}"#))?;
        let (mut n, mut names, mut dim, mut shape, mut scores) =
            (0, ptr::null_mut(), 0, ptr::null(), ptr::null());
        // SAFETY: XGBoost returns `n` names and scores in memory it owns; read at once.
        check(unsafe {
            sys::XGBoosterFeatureScore(
                self.handle,
                config.as_ptr(),
                &mut n,
                &mut names,
                &mut dim,
                &mut shape,
                &mut scores,
            )
        })?;
        let mut out = vec![0.0; features];
        if n == 0 || names.is_null() || scores.is_null() {
            return Ok(out);
        }
        let names = unsafe { std::slice::from_raw_parts(names, n as usize) };
        let scores = unsafe { std::slice::from_raw_parts(scores, n as usize) };
        for (name, score) in names.iter().zip(scores) {
            // SAFETY: each name is a NUL-terminated string XGBoost owns.
            let name = unsafe { CStr::from_ptr(*name) }.to_string_lossy();
            let index = name.strip_prefix('f').and_then(|i| i.parse::<usize>().ok());
            if let Some(slot) = index.and_then(|i| out.get_mut(i)) {
                *slot = f64::from(*score);
            }
        }
        Ok(out)
    }
}

/// Reads `[3]\ttrain-logloss:0.52\tvalidation-logloss:0.55` into one value per matrix.
fn parse_evaluation(text: &str, expected: usize) -> Result<Vec<f64>> {
    let values: Vec<f64> = text
        .split('\t')
        .skip(1)
        .filter_map(|field| field.rsplit(':').next())
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .collect();
    if values.len() != expected {
        return Err(Error::Estimator(format!(
            "could not read XGBoost's evaluation `{text}`"
        )));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::batches::Sampling;

    /// Batches of a threshold problem, served from memory in pieces of `size` rows.
    struct Pieces {
        x: Vec<Matrix>,
        y: Vec<Vec<f32>>,
        at: usize,
        resets: usize,
    }

    impl Pieces {
        fn new(rows: usize, size: usize) -> Pieces {
            let (mut x, mut y) = (vec![], vec![]);
            for start in (0..rows).step_by(size) {
                let values: Vec<f32> = (start..(start + size).min(rows))
                    .map(|i| (i % 10) as f32)
                    .collect();
                y.push(values.iter().map(|v| f32::from(*v >= 5.0)).collect());
                let n = values.len();
                x.push(Matrix::dense(values, n, 1));
            }
            Pieces {
                x,
                y,
                at: 0,
                resets: 0,
            }
        }
    }

    impl LabelledBatches for Pieces {
        fn rows(&self) -> usize {
            self.x.iter().map(|m| m.rows).sum()
        }

        fn reset(&mut self) -> Result<()> {
            self.at = 0;
            self.resets += 1;
            Ok(())
        }

        fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
            self.at += 1;
            Ok(self
                .x
                .get(self.at - 1)
                .zip(self.y.get(self.at - 1).map(Vec::as_slice)))
        }
    }

    #[test]
    fn a_quantised_matrix_from_batches_trains_a_booster() {
        let mut pieces = Pieces::new(1000, 128);
        let train = DMatrix::quantised(&mut pieces, None, 1, None).unwrap();
        assert!(
            pieces.resets >= 1,
            "XGBoost reads the batches more than once"
        );
        assert_eq!(train.labels().unwrap(), pieces.y.concat());
        let mut valid_pieces = Pieces::new(300, 300);
        let valid = DMatrix::quantised(&mut valid_pieces, Some(&train), 1, None).unwrap();
        let params = [
            ("objective", "binary:logistic".to_string()),
            ("eval_metric", "logloss".into()),
        ];
        let mut booster = Booster::new(&[&train, &valid], &params).unwrap();
        let mut losses = vec![];
        for round in 0..5 {
            booster.update(&train, round).unwrap();
            losses.push(
                booster
                    .evaluate(round, &[("train", &train), ("valid", &valid)])
                    .unwrap(),
            );
        }
        assert!(losses[4][0] < losses[0][0], "{losses:?}");
        let kept = booster.first_rounds(3).unwrap();
        let from_matrix = kept.predict(&valid, Prediction::Value).unwrap();
        let from_dense = kept
            .predict_matrix(&valid_pieces.x[0], Prediction::Value)
            .unwrap();
        assert_eq!(from_matrix, from_dense);
        assert!(from_dense[5] > 0.5 && from_dense[4] < 0.5, "{from_dense:?}");
        let back = Booster::load(&kept.save("ubj").unwrap()).unwrap();
        assert_eq!(
            back.predict_matrix(&valid_pieces.x[0], Prediction::Value)
                .unwrap(),
            from_dense
        );
        assert!(kept.feature_scores(1, "total_gain").unwrap()[0] > 0.0);
    }

    #[test]
    fn a_sample_keeps_every_kth_row_across_batches_of_the_first_pass_only() {
        let mut pieces = Pieces::new(1000, 128);
        let mut sampling = Sampling::new(&mut pieces, 7);
        let train = DMatrix::quantised(&mut sampling, None, 1, None).unwrap();
        let mut sample = sampling.into_sample();
        assert_eq!(sample.rows(), 1000usize.div_ceil(7));
        let mut kept = vec![];
        while let Some((x, y)) = sample.next_batch().unwrap() {
            let Values::Dense(values) = &x.values else {
                panic!("the sample of dense rows is dense");
            };
            assert_eq!(values.len(), y.len());
            kept.extend(values.iter().copied());
        }
        let every_7th: Vec<f32> = (0..1000).step_by(7).map(|i| (i % 10) as f32).collect();
        assert_eq!(kept, every_7th, "XGBoost's later passes add nothing");
        let curve = DMatrix::quantised(&mut sample, Some(&train), 1, None).unwrap();
        assert_eq!(curve.labels().unwrap().len(), 143);
        assert_eq!(train.labels().unwrap(), pieces.y.concat());
    }

    #[test]
    fn an_error_in_a_batch_is_the_error_of_the_build() {
        struct Failing;
        impl LabelledBatches for Failing {
            fn rows(&self) -> usize {
                1
            }
            fn reset(&mut self) -> Result<()> {
                Ok(())
            }
            fn next_batch(&mut self) -> Result<Option<(&Matrix, &[f32])>> {
                Err(Error::Data("spill file 000003.parquet is truncated".into()))
            }
        }
        let e = DMatrix::quantised(&mut Failing, None, 1, None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("000003.parquet"), "{e}");
    }

    #[test]
    fn a_bad_parameter_is_named() {
        let mut pieces = Pieces::new(10, 10);
        let train = DMatrix::quantised(&mut pieces, None, 1, None).unwrap();
        let e = Booster::new(&[&train], &[("objective", "binary:nonsense".into())])
            .and_then(|mut b| b.update(&train, 0))
            .err()
            .unwrap();
        assert!(e.to_string().contains("nonsense"), "{e}");
    }

    #[test]
    fn evaluations_are_read_by_position() {
        assert_eq!(
            parse_evaluation("[3]\ttrain-logloss:0.5\tvalidation-logloss:0.25", 2).unwrap(),
            vec![0.5, 0.25]
        );
        assert!(parse_evaluation("[3]", 1).is_err());
    }
}
