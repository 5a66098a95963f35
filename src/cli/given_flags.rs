//! Which flags the user typed on the command line, as opposed to defaults: a resumed run
//! keeps its saved configuration unless a flag says otherwise.

use clap::parser::ValueSource;
use clap::ArgMatches;
use std::collections::BTreeSet;

/// The ids (field names, such as `lr` or `batch_size`) of the flags given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GivenFlags(BTreeSet<String>);

impl GivenFlags {
    /// The flags of a (sub)command's matches that came from the command line.
    pub fn from_matches(matches: &ArgMatches) -> Self {
        GivenFlags(
            matches
                .ids()
                .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
                .map(|id| id.as_str().to_string())
                .collect(),
        )
    }

    /// Whether the flag with this id was given.
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}
