//! Geography: `Distance`, the great-circle distance between two points in degrees.

use polars::prelude::*;

use crate::error::Result;
use crate::frame;

/// The mean radius of the Earth in kilometres (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The great-circle distance between the points of the four columns `[lat_a, lon_a, lat_b,
/// lon_b]`, in kilometres.
pub(super) fn distance(df: &DataFrame, points: [&str; 4], by: &str, out: &str) -> Result<Column> {
    let columns = points
        .iter()
        .map(|c| frame::numbers(df, c, by))
        .collect::<Result<Vec<_>>>()?;
    let values = (0..df.height())
        .map(|r| {
            let p: Vec<f64> = columns.iter().map(|c| c[r]).collect::<Option<_>>()?;
            haversine_km(p[0], p[1], p[2], p[3])
        })
        .collect();
    Ok(frame::number_column(out, values))
}

/// The great-circle distance in kilometres between two points in degrees; `None` where a point
/// is off the globe.
pub(crate) fn haversine_km(lat_a: f64, lon_a: f64, lat_b: f64, lon_b: f64) -> Option<f64> {
    let valid = |lat: f64, lon: f64| lat.abs() <= 90.0 && lon.abs() <= 180.0;
    if !valid(lat_a, lon_a) || !valid(lat_b, lon_b) {
        return None;
    }
    let (p1, p2) = (lat_a.to_radians(), lat_b.to_radians());
    let dp = p2 - p1;
    let dl = (lon_b - lon_a).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Some(2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin())
}
