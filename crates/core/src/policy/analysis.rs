//! Reads a parsed policy module: which rules it declares, whether any rule or function calls
//! itself (Rego forbids recursion, and regorus would overflow the stack), and the generated
//! module that reports which `allow`/`deny` body fired. Does not evaluate anything.

use regorus::unstable::{Expr, Literal, Module, Parser, Query, Ref, Rule, RuleHead};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The package every policy must declare.
pub(crate) const PACKAGE: &str = "aegisclaw.policy";

/// The generated rule that collects the ids of the bodies that fired.
pub(crate) const HITS_RULE: &str = "__aegisclaw_rule_hits";

/// The generated rule naming complete rules that got more than one value. The register VM
/// does not report such conflicts (the interpreter does), so the policy checks itself.
pub(crate) const CONFLICTS_RULE: &str = "__aegisclaw_conflicts";

/// Prefix of every generated name; policies may not use it.
const RESERVED_PREFIX: &str = "__aegisclaw_";

/// Whether a labelled body belongs to `allow` or `deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadKind {
    Allow,
    Deny,
}

/// What the decision procedure needs to know about a policy's rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Analysis {
    /// Names of every rule and function the package declares.
    pub(crate) rules: BTreeSet<String>,
    /// `default allow` (line, value text), if declared.
    pub(crate) default_allow: Option<(u32, String)>,
    /// Label of each instrumented body, indexed by the id in the hit set.
    pub(crate) bodies: Vec<(HeadKind, String)>,
    /// Heads that could not be instrumented (else chains, computed values, functions).
    pub(crate) uninstrumented: BTreeSet<&'static str>,
    /// Complete rules defined by more than one statement with different values, which the
    /// generated module checks for conflicts.
    pub(crate) multi_valued: BTreeSet<String>,
    /// The generated module text, if any body was instrumented or any rule is multi-valued.
    pub(crate) instrumentation: Option<String>,
}

/// A problem found while analysing, before any evaluation.
#[derive(Debug)]
pub(crate) enum AnalysisError {
    /// The module declares another package.
    Package(String),
    /// A rule or function refers back to itself; the text is the cycle.
    Recursion(String),
    /// The policy uses a name the instrumentation reserves.
    Reserved,
}

/// Analyses the policy's module. `file` labels the rules; `rego_v1` picks the syntax of the
/// generated module.
pub(crate) fn analyse(
    module: &Module,
    file: &str,
    rego_v1: bool,
) -> Result<Analysis, AnalysisError> {
    let package = module.package.refr.span().text().to_string();
    if package != PACKAGE {
        return Err(AnalysisError::Package(package));
    }
    let mut analysis = Analysis::default();
    for rule in &module.policy {
        if let Some(name) = rule_name(rule) {
            analysis.rules.insert(name);
        }
    }
    if analysis
        .rules
        .iter()
        .any(|name| name.starts_with(RESERVED_PREFIX))
    {
        return Err(AnalysisError::Reserved);
    }
    check_recursion(module, &analysis.rules)?;
    instrument(module, file, rego_v1, &mut analysis);
    Ok(analysis)
}

fn head_ref(rule: &Rule) -> &Ref<Expr> {
    match rule {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. }
            | RuleHead::Set { refr, .. }
            | RuleHead::Func { refr, .. } => refr,
        },
        Rule::Default { refr, .. } => refr,
    }
}

fn rule_name(rule: &Rule) -> Option<String> {
    let parts = Parser::get_path_ref_components(head_ref(rule)).ok()?;
    parts.first().map(|span| span.text().to_string())
}

/// Every name in `rules` that `rule` refers to, through a bare name, an import alias or
/// `data.aegisclaw.policy.<name>`.
fn references(
    rule: &Rule,
    aliases: &BTreeMap<String, String>,
    rules: &BTreeSet<String>,
) -> BTreeSet<String> {
    enum Node<'a> {
        Expr(&'a Expr),
        Query(&'a Query),
    }
    let mut stack: Vec<Node<'_>> = Vec::new();
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { assign, .. } | RuleHead::Func { assign, .. } => {
                    if let Some(assign) = assign {
                        stack.push(Node::Expr(&assign.value));
                    }
                }
                RuleHead::Set { key, .. } => {
                    if let Some(key) = key {
                        stack.push(Node::Expr(key));
                    }
                }
            }
            for body in bodies {
                if let Some(assign) = &body.assign {
                    stack.push(Node::Expr(&assign.value));
                }
                stack.push(Node::Query(&body.query));
            }
        }
        Rule::Default { value, .. } => stack.push(Node::Expr(value)),
    }
    let data_prefix = format!("data.{PACKAGE}.");
    let mut found = BTreeSet::new();
    let mut note = |name: &str| {
        let name = aliases.get(name).map_or(name, String::as_str);
        if rules.contains(name) {
            found.insert(name.to_string());
        }
    };
    // An explicit stack, not recursion: deep expressions cannot overflow it.
    while let Some(node) = stack.pop() {
        let expr = match node {
            Node::Query(query) => {
                for stmt in &query.stmts {
                    for with in &stmt.with_mods {
                        stack.push(Node::Expr(&with.refr));
                        stack.push(Node::Expr(&with.r#as));
                    }
                    match &stmt.literal {
                        Literal::SomeVars { .. } => {}
                        Literal::SomeIn {
                            key,
                            value,
                            collection,
                            ..
                        } => {
                            stack.extend(key.iter().map(|k| Node::Expr(k)));
                            stack.push(Node::Expr(value));
                            stack.push(Node::Expr(collection));
                        }
                        Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => {
                            stack.push(Node::Expr(expr));
                        }
                        Literal::Every { domain, query, .. } => {
                            stack.push(Node::Expr(domain));
                            stack.push(Node::Query(query));
                        }
                    }
                }
                continue;
            }
            Node::Expr(expr) => expr,
        };
        match expr {
            Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Number { .. }
            | Expr::Bool { .. }
            | Expr::Null { .. } => {}
            Expr::Var { span, .. } => note(span.text()),
            Expr::Array { items, .. } | Expr::Set { items, .. } => {
                stack.extend(items.iter().map(|item| Node::Expr(item)));
            }
            Expr::Object { fields, .. } => {
                for (_, key, value) in fields {
                    stack.push(Node::Expr(key));
                    stack.push(Node::Expr(value));
                }
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                stack.push(Node::Expr(term));
                stack.push(Node::Query(query));
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                stack.push(Node::Expr(key));
                stack.push(Node::Expr(value));
                stack.push(Node::Query(query));
            }
            Expr::Call { fcn, params, .. } => {
                stack.push(Node::Expr(fcn));
                stack.extend(params.iter().map(|param| Node::Expr(param)));
            }
            Expr::UnaryExpr { expr, .. } => stack.push(Node::Expr(expr)),
            Expr::RefDot { span, refr, .. } => {
                if let Some(rest) = span.text().strip_prefix(&data_prefix) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    note(&name);
                }
                stack.push(Node::Expr(refr));
            }
            Expr::RefBrack { refr, index, .. } => {
                stack.push(Node::Expr(refr));
                stack.push(Node::Expr(index));
            }
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. }
            | Expr::AssignExpr { lhs, rhs, .. } => {
                stack.push(Node::Expr(lhs));
                stack.push(Node::Expr(rhs));
            }
            Expr::Membership {
                key,
                value,
                collection,
                ..
            } => {
                stack.extend(key.iter().map(|k| Node::Expr(k)));
                stack.push(Node::Expr(value));
                stack.push(Node::Expr(collection));
            }
        }
    }
    found
}

/// Rejects any cycle in the graph of rules and functions referring to each other. This is
/// conservative: a local variable named like a rule counts as a reference.
fn check_recursion(module: &Module, rules: &BTreeSet<String>) -> Result<(), AnalysisError> {
    let data_prefix = format!("data.{PACKAGE}.");
    let mut aliases = BTreeMap::new();
    for import in &module.imports {
        let path = import.refr.span().text();
        if let Some(target) = path.strip_prefix(&data_prefix) {
            let target = target
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string();
            let alias = import.r#as.as_ref().map_or_else(
                || path.rsplit('.').next().unwrap_or_default().to_string(),
                |span| span.text().to_string(),
            );
            aliases.insert(alias, target);
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in &module.policy {
        if let Some(name) = rule_name(rule) {
            graph
                .entry(name)
                .or_default()
                .extend(references(rule, &aliases, rules));
        }
    }
    // Iterative depth-first search; `path` is the current chain, `done` the finished nodes.
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        if done.contains(start) {
            continue;
        }
        let mut path: Vec<(&String, Vec<&String>)> = vec![(start, graph[start].iter().collect())];
        while let Some((node, pending)) = path.last_mut() {
            let node: &String = node;
            match pending.pop() {
                None => {
                    done.insert(node.clone());
                    path.pop();
                }
                Some(next) => {
                    if let Some(at) = path.iter().position(|(n, _)| *n == next) {
                        let mut cycle: Vec<&str> =
                            path[at..].iter().map(|(n, _)| n.as_str()).collect();
                        cycle.push(next);
                        return Err(AnalysisError::Recursion(cycle.join(" -> ")));
                    }
                    if !done.contains(next) {
                        let edges = graph
                            .get(next)
                            .map(|e| e.iter().collect())
                            .unwrap_or_default();
                        path.push((next, edges));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Generates `<HITS_RULE> contains "<id>" if { <body> }` for each `allow`/`deny` body whose
/// head is plain, and records the labels; other heads are named without a line.
fn instrument(module: &Module, file: &str, rego_v1: bool, analysis: &mut Analysis) {
    let mut out = format!("package {PACKAGE}\n");
    for import in &module.imports {
        let _ = writeln!(out, "{}", import.span.text());
    }
    for rule in &module.policy {
        let (kind, name) = match rule_name(rule).as_deref() {
            Some("allow") => (HeadKind::Allow, "allow"),
            Some("deny") => (HeadKind::Deny, "deny"),
            _ => continue,
        };
        let (head, bodies) = match rule.as_ref() {
            Rule::Default { value, span, .. } => {
                if kind == HeadKind::Allow {
                    analysis.default_allow = Some((span.line, value.span().text().to_string()));
                }
                continue;
            }
            Rule::Spec { head, bodies, .. } => (head, bodies),
        };
        let plain = match head {
            RuleHead::Compr { assign, .. } => assign
                .as_ref()
                .is_none_or(|assign| assign.value.span().text() == "true"),
            RuleHead::Set { .. } => true,
            RuleHead::Func { .. } => false,
        };
        let simple = bodies.iter().all(|body| {
            !body.is_else
                && body
                    .assign
                    .as_ref()
                    .is_none_or(|assign| assign.value.span().text() == "true")
        });
        if !plain || !simple {
            analysis.uninstrumented.insert(name);
            continue;
        }
        let rule_line = rule.span().line;
        if bodies.is_empty() {
            push_body(
                &mut out,
                analysis,
                rego_v1,
                kind,
                format!("{file}:{rule_line} {name}"),
                "true",
            );
        }
        for (index, body) in bodies.iter().enumerate() {
            let line = if index == 0 {
                rule_line
            } else {
                body.span.line
            };
            let text = body_text(&body.query);
            push_body(
                &mut out,
                analysis,
                rego_v1,
                kind,
                format!("{file}:{line} {name}"),
                &text,
            );
        }
    }
    conflict_checks(module, rego_v1, &mut out, analysis);
    if !analysis.bodies.is_empty() || !analysis.multi_valued.is_empty() {
        analysis.instrumentation = Some(out);
    }
}

/// For each complete rule defined by several statements whose values may differ, generates
/// `__aegisclaw_values_<n> contains <value> if { <body> }` per body and a conflict entry when
/// that set has more than one value. `else` bodies are left out: they only fire when the
/// bodies before them fail, so including them could report conflicts that cannot happen.
fn conflict_checks(module: &Module, rego_v1: bool, out: &mut String, analysis: &mut Analysis) {
    let mut statements: BTreeMap<String, Vec<&Rule>> = BTreeMap::new();
    for rule in &module.policy {
        if let Rule::Spec {
            head: RuleHead::Compr { refr, .. },
            ..
        } = rule.as_ref()
            && Parser::get_path_ref_components(refr).is_ok_and(|parts| parts.len() == 1)
            && let Some(name) = rule_name(rule)
        {
            statements.entry(name).or_default().push(rule);
        }
    }
    for (name, rules) in statements {
        let mut values: Vec<(String, String)> = Vec::new();
        for rule in &rules {
            let Rule::Spec {
                head: RuleHead::Compr { assign, .. },
                bodies,
                ..
            } = &**rule
            else {
                continue;
            };
            let value = assign
                .as_ref()
                .map_or_else(|| "true".to_string(), |a| expr_text(&a.value));
            if bodies.is_empty() {
                values.push((value.clone(), "true".to_string()));
            }
            for body in bodies.iter().filter(|body| !body.is_else) {
                values.push((value.clone(), body_text(&body.query)));
            }
        }
        if rules.len() < 2 || values.iter().all(|(value, _)| *value == values[0].0) {
            continue;
        }
        let set = format!("{RESERVED_PREFIX}values_{}", analysis.multi_valued.len());
        analysis.multi_valued.insert(name.clone());
        for (value, body) in values {
            if rego_v1 {
                let _ = write!(out, "\n{set} contains {value} if {{\n{body}\n}}\n");
            } else {
                let _ = write!(out, "\n{set}[{value}] {{\n{body}\n}}\n");
            }
        }
        if rego_v1 {
            let _ = write!(
                out,
                "\n{CONFLICTS_RULE} contains \"{name}\" if count({set}) > 1\n"
            );
        } else {
            let _ = write!(
                out,
                "\n{CONFLICTS_RULE}[\"{name}\"] {{ count({set}) > 1 }}\n"
            );
        }
    }
}

/// The source text of an expression, with the quotes that string spans leave out.
fn expr_text(expr: &Expr) -> String {
    let span = expr.span();
    let source = span.source.contents();
    let bytes = source.as_bytes();
    let quote = |at: usize| matches!(bytes.get(at), Some(b'"' | b'`'));
    let mut start = span.start as usize;
    let mut end = span.end as usize;
    if matches!(expr, Expr::String { .. } | Expr::RawString { .. }) && start > 0 && quote(start - 1)
    {
        start -= 1;
    }
    if quote(end) {
        end += 1;
    }
    source.get(start..end).unwrap_or("null").to_string()
}

fn push_body(
    out: &mut String,
    analysis: &mut Analysis,
    rego_v1: bool,
    kind: HeadKind,
    label: String,
    body: &str,
) {
    let id = analysis.bodies.len();
    analysis.bodies.push((kind, label));
    if rego_v1 {
        let _ = write!(out, "\n{HITS_RULE} contains \"{id}\" if {{\n{body}\n}}\n");
    } else {
        let _ = write!(out, "\n{HITS_RULE}[\"{id}\"] {{\n{body}\n}}\n");
    }
}

/// The source text of a body's statements, from the first to the end of the last. Spans of
/// string literals stop before the closing quote, so a quote right after the end is kept.
fn body_text(query: &Query) -> String {
    let (Some(first), Some(last)) = (query.stmts.first(), query.stmts.last()) else {
        return "true".to_string();
    };
    let source = first.span.source.contents();
    let mut end = last.span.end as usize;
    for with in &last.with_mods {
        end = end
            .max(with.span.end as usize)
            .max(with.r#as.span().end as usize);
    }
    if matches!(source.as_bytes().get(end), Some(b'"' | b'`')) {
        end += 1;
    }
    source
        .get(first.span.start as usize..end)
        .unwrap_or("true")
        .to_string()
}
