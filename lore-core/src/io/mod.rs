//! Data in and out: database connections, SQL extracts with bound parameters, and data files.

pub mod connection;
pub mod extract;
pub mod files;

pub use connection::Connection;
pub use extract::{Extract, ExtractSpec};
