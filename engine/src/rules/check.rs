//! Compile-time check for calls to functions that exist nowhere.
//!
//! rhai resolves functions at run time, so a typo in a rarely taken branch would only surface
//! when that branch runs, perhaps months later. After parsing, every call in the AST is checked
//! by name against the functions the engine knows, the script's own functions and rhai's
//! keywords. Only the name is checked: whether argument count and types match is known only at
//! run time, where rhai reports it as an unknown function with the full signature.
//!
//! A name bound as a variable, parameter or map property anywhere in the script is let through:
//! it may hold a function pointer (`obj.f()` on a map whose `f` is a closure).

use std::collections::HashSet;

use rhai::{ASTNode, Engine, Expr, Position, Stmt, AST};

/// rhai's keywords that parse as calls but are not registered functions.
const KEYWORDS: [&str; 11] =
    ["print", "debug", "type_of", "Fn", "call", "curry", "is_shared", "is_def_var", "is_def_fn", "this", "global"];

/// Every function name the engine can call.
pub(crate) struct KnownFunctions(HashSet<String>);

impl KnownFunctions {
    pub(crate) fn of(engine: &Engine) -> KnownFunctions {
        let mut names: HashSet<String> =
            engine.collect_fn_metadata(None, |info| Some(info.metadata.name.to_string()), true).into_iter().collect();
        names.extend(KEYWORDS.iter().map(|k| (*k).to_owned()));
        KnownFunctions(names)
    }
}

/// The first call (in source order) to a function that exists nowhere, with its position.
pub(crate) fn first_unknown_function(ast: &AST, known: &KnownFunctions) -> Option<(String, Position)> {
    let mut bound: HashSet<String> = HashSet::new();
    for function in ast.iter_functions() {
        bound.insert(function.name.to_owned());
        bound.extend(function.params.iter().map(|p| (*p).to_owned()));
    }
    let mut calls: Vec<(String, Position)> = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, position) | Expr::MethodCall(call, position)))
                if call.op_token.is_none() && !call.is_qualified() && is_identifier(&call.name) =>
            {
                calls.push((call.name.to_string(), *position));
            }
            Some(ASTNode::Expr(Expr::Variable(variable, _, _))) => {
                bound.insert(variable.1.to_string());
            }
            Some(ASTNode::Expr(Expr::Property(property, _))) => {
                bound.insert(property.2.to_string());
            }
            Some(ASTNode::Expr(Expr::Map(map, _))) => {
                bound.extend(map.0.iter().map(|(key, _)| key.name.to_string()));
            }
            Some(ASTNode::Stmt(Stmt::Var(declaration, _, _))) => {
                bound.insert(declaration.0.name.to_string());
            }
            Some(ASTNode::Stmt(Stmt::For(header, _))) => {
                bound.insert(header.0.name.to_string());
                if let Some(counter) = &header.1 {
                    bound.insert(counter.name.to_string());
                }
            }
            _ => {}
        }
        true
    });
    calls.sort_by_key(|(_, position)| (position.line(), position.position()));
    calls.into_iter().find(|(name, _)| !known.0.contains(name) && !bound.contains(name))
}

fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}
