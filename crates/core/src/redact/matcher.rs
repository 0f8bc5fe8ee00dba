//! The patterns of one view and their automata: the raw view's is built with the redactor;
//! every other is built the first time a stream needs it, so a run that never prints base64, an
//! escape or a `%` never pays for them. Every automaton matches without regard to ASCII case
//! (as fast as with it); a stream then drops the matches of exact patterns whose case differs.
//! Builds and hands out automata; does not search.

use super::encoding::Form;
use super::view::View;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, BuildError, MatchError};
use std::sync::OnceLock;

/// A pattern and the index of the secret it encodes.
pub(crate) type Owned = (Form, usize);

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
    /// For each pattern id, whether only its exact bytes count.
    exact: Vec<bool>,
    /// For each pattern id, the index of the secret it encodes.
    pub(crate) owner: Vec<usize>,
    /// The longest pattern in view bytes: a stream holds back one byte less than this.
    pub(crate) longest: usize,
    /// The shortest pattern in view bytes.
    pub(crate) shortest: usize,
    /// The streams' automaton.
    sensitive: OnceLock<Result<AhoCorasick, BuildError>>,
    /// The one for text whose case the program does not control the meaning of (host names),
    /// where exact patterns match in any case too: see `Redactor::redact_str_ignore_case`.
    insensitive: OnceLock<Result<AhoCorasick, BuildError>>,
}

impl Matcher {
    /// The matcher for `patterns` (deduplicated here: the first secret that produces a byte
    /// string names it, and it is exact only if every secret's is). Builds nothing yet.
    pub(crate) fn new(view: View, mut patterns: Vec<Owned>) -> Self {
        patterns
            .sort_unstable_by(|(a, first), (b, second)| (&a.bytes, first).cmp(&(&b.bytes, second)));
        patterns.dedup_by(|later, earlier| {
            let same = later.0.bytes == earlier.0.bytes;
            if same {
                earlier.0.exact &= later.0.exact;
            }
            same
        });
        let mut forms = Vec::with_capacity(patterns.len());
        let mut exact = Vec::with_capacity(patterns.len());
        let mut owner = Vec::with_capacity(patterns.len());
        for (form, secret) in patterns {
            forms.push(form.bytes);
            exact.push(form.exact);
            owner.push(secret);
        }
        Self {
            view,
            longest: forms.iter().map(Vec::len).max().unwrap_or(1),
            shortest: forms.iter().map(Vec::len).min().unwrap_or(1),
            forms,
            exact,
            owner,
            sensitive: OnceLock::new(),
            insensitive: OnceLock::new(),
        }
    }

    /// How many patterns.
    pub(crate) fn len(&self) -> usize {
        self.owner.len()
    }

    /// The automaton, built on first use; both match without regard to ASCII case. Streams'
    /// are DFAs: they scan base64-like text, where the prefilter keeps stopping, several times
    /// faster than an NFA. Short record text's (`ignore_case`) are contiguous NFAs, built about
    /// a hundred times faster.
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
                .ascii_case_insensitive(true)
                .build(&self.forms)
        })
        .as_ref()
    }

    /// Whether pattern `pattern`, found as `found`, counts: an exact pattern only in its own
    /// case, unless `ignore_case`.
    pub(crate) fn counts(&self, pattern: usize, found: &[u8], ignore_case: bool) -> bool {
        ignore_case || !self.exact[pattern] || self.forms[pattern] == found
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
