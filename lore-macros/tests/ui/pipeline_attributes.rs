use lore_macros::Pipeline;

#[derive(Pipeline)]
#[pipeline(extrat = "users")]
struct Misspelled {
    limit: i64,
}

#[derive(Pipeline)]
#[pipeline(extract = users)]
struct NotAString;

#[derive(Pipeline)]
struct NoExtract;

#[derive(Pipeline)]
#[pipeline(extract = "users")]
struct Unnamed(i64);

fn main() {}
