//! `lore generate model|transformer|encoder`.

use super::*;

pub(super) fn generate_model(name: &str) -> Result<ExitCode> {
    let project = current_project()?;
    let written = project::generate_model(&project.root, name)?;
    for path in written {
        println!(
            "wrote {}",
            path.strip_prefix(&project.root).unwrap_or(&path).display()
        );
    }
    println!("Next: lore fit {name}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn generate_component(component: Component, name: &str) -> Result<ExitCode> {
    let project = current_project()?;
    let written = project::generate_component(&project.root, component, name)?;
    for path in written {
        println!(
            "wrote {}",
            path.strip_prefix(&project.root).unwrap_or(&path).display()
        );
    }
    let kind = match component {
        Component::Transformer => "{ type = \"Custom\", name = \"NAME\", columns = [\"COLUMN\"] }",
        Component::Encoder => "{ type = \"Custom\", name = \"NAME\", column = \"COLUMN\" }",
    };
    println!("Next: use it in a model as {}", kind.replace("NAME", name));
    Ok(ExitCode::SUCCESS)
}
