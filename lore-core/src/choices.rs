//! Closed choices, such as a run's kind or a search strategy: each choice named once, and read
//! back from that name on the command line and in documents.

/// Gives the enum `$enum` its `NAMES`, a `name()` for each variant and a `FromStr` that reads the name back,
/// refusing anything else by the parameter `$key` as not `$what`.
macro_rules! choices {
    ($enum:ident by $key:literal as $what:literal { $($variant:ident => $name:literal,)+ }) => {
        impl $enum {
            /// Every choice's name, in the order declared.
            pub const NAMES: &'static [&'static str] = &[$($name,)+];

            /// Its name in documents and on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)+
                }
            }
        }

        impl std::str::FromStr for $enum {
            type Err = $crate::error::Error;

            fn from_str(s: &str) -> $crate::error::Result<$enum> {
                [$($enum::$variant,)+]
                    .into_iter()
                    .find(|c| c.name() == s)
                    .ok_or_else(|| $crate::error::Error::InvalidParam {
                        key: $key.into(),
                        message: format!(
                            "`{s}` is not {}; use one of {}",
                            $what,
                            $enum::NAMES.join(", ")
                        ),
                    })
            }
        }
    };
}
pub(crate) use choices;

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Speed {
        Slow,
        Fast,
    }

    choices!(Speed by "speed" as "a speed" {
        Slow => "slow",
        Fast => "fast",
    });

    #[test]
    fn a_choice_reads_back_its_name_and_refuses_others_by_parameter() {
        for speed in [Speed::Slow, Speed::Fast] {
            assert_eq!(speed.name().parse::<Speed>().unwrap(), speed);
        }
        refused(
            "warp".parse::<Speed>(),
            &["speed", "`warp` is not a speed", "slow, fast"],
        );
    }
}
