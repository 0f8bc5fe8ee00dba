//! The patterns of one view and their automata: the raw view's, matched case-sensitively, is
//! built with the redactor; every other is built the first time a stream needs it, so a run
//! that never prints base64, an escape or a `%` never pays for them. Builds and hands out
//! automata; does not search.

use super::view::View;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, BuildError, MatchError};
use std::sync::OnceLock;

/// A pattern and the index of the secret it encodes.
pub(crate) type Owned = (Vec<u8>, usize);

/// A search could not run (an automaton failed to build, or refused the search): the stream
/// fails closed.
#[derive(Debug)]
pub(crate) struct SearchFailed;

impl From<MatchError> for SearchFailed {
    fn from(_: MatchError) -> Self {
        Self
    }
}

/// The patterns of one view.
pub(crate) struct Matcher {
    pub(crate) view: View,
    forms: Vec<Vec<u8>>,
    /// For each pattern id, the index of the secret it encodes.
    pub(crate) owner: Vec<usize>,
    /// The longest pattern in view bytes: a stream holds back one byte less than this.
    pub(crate) longest: usize,
    /// The shortest pattern in view bytes.
    pub(crate) shortest: usize,
    sensitive: OnceLock<Result<AhoCorasick, BuildError>>,
    /// The same patterns matched without regard to ASCII case, for text whose case the
    /// program does not control the meaning of (host names): see
    /// `Redactor::redact_str_ignore_case`.
    insensitive: OnceLock<Result<AhoCorasick, BuildError>>,
}

impl Matcher {
    /// The matcher for `patterns` (deduplicated here: the first secret that produces a byte
    /// string names it). Builds nothing yet.
    pub(crate) fn new(view: View, mut patterns: Vec<Owned>) -> Self {
        patterns.sort_unstable();
        patterns.dedup_by(|later, earlier| later.0 == earlier.0);
        let (forms, owner): (Vec<Vec<u8>>, Vec<usize>) = patterns.into_iter().unzip();
        Self {
            view,
            longest: forms.iter().map(Vec::len).max().unwrap_or(1),
            shortest: forms.iter().map(Vec::len).min().unwrap_or(1),
            forms,
            owner,
            sensitive: OnceLock::new(),
            insensitive: OnceLock::new(),
        }
    }

    /// How many patterns.
    pub(crate) fn len(&self) -> usize {
        self.owner.len()
    }

    /// The automaton, built on first use. Case-sensitive ones (every stream's) are DFAs: they
    /// scan base64-like text, where the prefilter keeps stopping, several times faster than an
    /// NFA. Case-insensitive ones (short record text) are contiguous NFAs, built about a
    /// hundred times faster.
    pub(crate) fn automaton(&self, ignore_case: bool) -> Result<&AhoCorasick, &BuildError> {
        let (cell, kind) = if ignore_case {
            (&self.insensitive, AhoCorasickKind::ContiguousNFA)
        } else {
            (&self.sensitive, AhoCorasickKind::DFA)
        };
        cell.get_or_init(|| {
            AhoCorasickBuilder::new()
                .kind(Some(kind))
                .prefilter(ignore_case)
                .ascii_case_insensitive(ignore_case)
                .build(&self.forms)
        })
        .as_ref()
    }

    /// The most raw bytes a stream holds back for this view: `longest − 1` view bytes, each
    /// standing for at most `raw_per_byte` raw bytes, and the decoder's undecided lookahead.
    pub(crate) fn hold_bound(&self) -> usize {
        (self.longest - 1) * self.view.raw_per_byte() + self.view.lookahead()
    }

    /// Which of its automata are built: (case-sensitive, case-insensitive).
    #[cfg(test)]
    pub(crate) fn built(&self) -> (bool, bool) {
        (
            self.sensitive.get().is_some(),
            self.insensitive.get().is_some(),
        )
    }
}
