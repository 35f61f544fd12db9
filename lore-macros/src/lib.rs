//! Derive macros for Lore projects.
//!
//! `#[derive(Pipeline)]` turns a struct whose fields are an extract's bound parameters into a
//! `lore_core::models::Pipeline`; `#[derive(Model)]` names a model and ties it to its pipeline.
//! Both produce the same `ModelSpec` that a declarative `src/models/<name>.toml` produces.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Expr, ExprLit, Fields, Lit, Meta, Path};

/// Implements `lore_core::models::Pipeline` for a struct that implements `PipelineDefinition`.
///
/// `#[pipeline(extract = "users", connection = "main")]` names the SQL file under
/// `src/extracts/` and its connection (default `main`); every named field is bound to the
/// `:field` placeholder of that SQL.
#[proc_macro_derive(Pipeline, attributes(pipeline))]
pub fn derive_pipeline(input: TokenStream) -> TokenStream {
    derive(parse_macro_input!(input as DeriveInput), expand_pipeline)
}

/// Implements `lore_core::models::Model` for a struct that implements `ModelDefinition`.
///
/// `#[model(pipeline = SubscribersPipeline)]` names the pipeline type (built with `Default`);
/// the model's name is the struct's name.
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    derive(parse_macro_input!(input as DeriveInput), expand_model)
}

/// What `expand` makes of `input`, or its error as a compile error at the span it names.
fn derive(
    input: DeriveInput,
    expand: fn(&DeriveInput) -> syn::Result<TokenStream2>,
) -> TokenStream {
    expand(&input)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// An error at an attribute key that is not one of `valid`, suggesting the closest one.
fn unknown_key(path: &Path, what: &str, valid: &[&str]) -> syn::Error {
    let given = path.get_ident().map(|i| i.to_string()).unwrap_or_default();
    let closest = valid
        .iter()
        .map(|v| (strsim::jaro_winkler(&given, v), v))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let valid_list: Vec<String> = valid.iter().map(|v| format!("`{v}`")).collect();
    let message = match closest {
        Some((_, v)) => format!(
            "unknown {what} attribute `{given}`; did you mean `{v}`? (valid: {})",
            valid_list.join(", ")
        ),
        None => format!(
            "unknown {what} attribute `{given}`; valid: {}",
            valid_list.join(", ")
        ),
    };
    syn::Error::new_spanned(path, message)
}

fn string_value(expr: &Expr) -> syn::Result<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a string literal, such as \"users\"",
        )),
    }
}

fn expand_pipeline(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let mut extract = None;
    let mut connection = "main".to_string();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("pipeline")) {
        let nested = attr.parse_args_with(
            syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
        )?;
        for meta in nested {
            let Meta::NameValue(nv) = &meta else {
                return Err(syn::Error::new_spanned(
                    meta,
                    "expected `extract = \"...\"` or `connection = \"...\"`",
                ));
            };
            if nv.path.is_ident("extract") {
                extract = Some(string_value(&nv.value)?);
            } else if nv.path.is_ident("connection") {
                connection = string_value(&nv.value)?;
            } else {
                return Err(unknown_key(
                    &nv.path,
                    "pipeline",
                    &["extract", "connection"],
                ));
            }
        }
    }
    let Some(extract) = extract else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Pipeline)] needs #[pipeline(extract = \"NAME\")] naming src/extracts/NAME.sql",
        ));
    };
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Pipeline)] works on structs",
        ));
    };
    let params: Vec<TokenStream2> = match &data.fields {
        Fields::Named(fields) => fields
            .named
            .iter()
            .filter_map(|f| f.ident.as_ref())
            .map(|ident| {
                let name = ident.to_string();
                quote! { .param(#name, &self.#ident) }
            })
            .collect(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(f) => {
            return Err(syn::Error::new_spanned(
                f,
                "name the fields: each is bound to the `:field` placeholder of the extract",
            ))
        }
    };
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::lore_core::models::Pipeline for #ident #ty_generics #where_clause {
            fn spec(&self) -> ::lore_core::pipelines::PipelineSpec {
                use ::lore_core::models::PipelineDefinition as _;
                let mut extract = ::lore_core::io::ExtractSpec::new(#extract) #(#params)*;
                extract.connection = #connection.to_string();
                ::lore_core::pipelines::PipelineSpec {
                    extract,
                    transformers: self.transformers(),
                    split: self.split(),
                    encoders: self.encoders(),
                    output: self.output(),
                }
            }
        }
    })
}

fn expand_model(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let mut pipeline: Option<Path> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("model")) {
        let nested = attr.parse_args_with(
            syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
        )?;
        for meta in nested {
            match &meta {
                Meta::NameValue(nv) if nv.path.is_ident("pipeline") => match &nv.value {
                    Expr::Path(p) => pipeline = Some(p.path.clone()),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "expected a type, such as `pipeline = SubscribersPipeline`",
                        ))
                    }
                },
                Meta::NameValue(nv) => return Err(unknown_key(&nv.path, "model", &["pipeline"])),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "expected `pipeline = TYPE`, such as `pipeline = SubscribersPipeline`",
                    ))
                }
            }
        }
    }
    let Some(pipeline) = pipeline else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Model)] needs #[model(pipeline = TYPE)] naming a #[derive(Pipeline)] type",
        ));
    };
    let ident = &input.ident;
    let name = ident.to_string();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::lore_core::models::Model for #ident #ty_generics #where_clause {
            fn name(&self) -> ::std::string::String {
                #name.to_string()
            }

            fn spec(&self) -> ::lore_core::models::ModelSpec {
                use ::lore_core::models::{ModelDefinition as _, Pipeline as _};
                ::lore_core::models::ModelSpec {
                    name: #name.to_string(),
                    pipeline: <#pipeline as ::std::default::Default>::default().spec(),
                    estimator: self.estimator(),
                    scoring: ::lore_core::models::ModelDefinition::scoring(self),
                    search: ::lore_core::models::ModelDefinition::search(self),
                    checks: ::lore_core::models::ModelDefinition::checks(self),
                }
            }
        }
    })
}
