use lore_macros::Model;

#[derive(Model)]
#[model(pipline = UsersPipeline)]
struct Misspelled;

#[derive(Model)]
#[model(pipeline = "UsersPipeline")]
struct NotAType;

#[derive(Model)]
struct NoPipeline;

fn main() {}
