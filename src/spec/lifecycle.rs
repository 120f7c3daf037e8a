//! Lifecycle rules checked locally, before any API call (S3's own rules):
//! the transition waterfall, minimum days per storage class, expiration after
//! every transition. Servers like moto accept invalid rules, so this is the
//! only place such a rule is caught before it reaches AWS.

use std::fmt;

use serde::Serialize;

/// An AWS storage class a lifecycle rule can transition current objects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum StorageClass {
    StandardIa,
    IntelligentTiering,
    OnezoneIa,
    GlacierIr,
    Glacier,
    DeepArchive,
}

impl StorageClass {
    /// Every transition target, in waterfall order.
    pub(crate) const ALL: [StorageClass; 6] = [
        StorageClass::StandardIa,
        StorageClass::IntelligentTiering,
        StorageClass::OnezoneIa,
        StorageClass::GlacierIr,
        StorageClass::Glacier,
        StorageClass::DeepArchive,
    ];

    /// Parses the AWS spelling.
    pub(crate) fn parse(value: &str) -> Option<StorageClass> {
        Self::ALL.into_iter().find(|class| class.name() == value)
    }

    /// The AWS spelling, as in the API and the CLI.
    pub(crate) fn name(self) -> &'static str {
        match self {
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }

    /// Position in the waterfall: a transition may only go further down.
    fn rank(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    /// AWS refuses transitions to the IA classes before 30 days.
    pub(crate) fn minimum_transition_days(self) -> u32 {
        match self {
            StorageClass::StandardIa | StorageClass::OnezoneIa => 30,
            _ => 0,
        }
    }

    /// Days an object is billed for at least once it lands in this class.
    pub(crate) fn minimum_storage_days(self) -> u32 {
        match self {
            StorageClass::StandardIa | StorageClass::OnezoneIa => 30,
            StorageClass::GlacierIr | StorageClass::Glacier => 90,
            StorageClass::DeepArchive => 180,
            StorageClass::IntelligentTiering => 0,
        }
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A transition of current objects to `storage_class` after `days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Transition {
    pub(crate) days: u32,
    pub(crate) storage_class: StorageClass,
}

/// Which value of the spec a lifecycle problem points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Culprit {
    TransitionDays(usize),
    TransitionClass(usize),
    RetentionDays,
}

/// A broken lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LifecycleProblem {
    pub(crate) culprit: Culprit,
    pub(crate) rule: &'static str,
    pub(crate) message: String,
}

/// Checks transitions and expiration together; empty when AWS would accept them.
pub(crate) fn check(transitions: &[Transition], retention_days: u32) -> Vec<LifecycleProblem> {
    let mut problems = Vec::new();
    let proposal = propose(transitions, retention_days);
    for (i, t) in transitions.iter().enumerate() {
        let minimum = t.storage_class.minimum_transition_days();
        if t.days < minimum {
            problems.push(LifecycleProblem {
                culprit: Culprit::TransitionDays(i),
                rule: "lifecycle.ia-minimum-days",
                message: format!(
                    "{} needs at least {minimum} days, got {} (AWS: 'Days' in Transition action must be greater than or equal to {minimum} for storageClass '{}'); try {proposal}",
                    t.storage_class, t.days, t.storage_class
                ),
            });
        }
        let Some(prev) = i.checked_sub(1).map(|p| transitions[p]) else {
            continue;
        };
        if t.storage_class.rank() <= prev.storage_class.rank() {
            problems.push(LifecycleProblem {
                culprit: Culprit::TransitionClass(i),
                rule: "lifecycle.waterfall",
                message: format!(
                    "transition to {} cannot follow {}: classes go STANDARD_IA → INTELLIGENT_TIERING → ONEZONE_IA → GLACIER_IR → GLACIER → DEEP_ARCHIVE, each at most once; try {proposal}",
                    t.storage_class, prev.storage_class
                ),
            });
        } else if t.days <= prev.days {
            problems.push(LifecycleProblem {
                culprit: Culprit::TransitionDays(i),
                rule: "lifecycle.increasing-days",
                message: format!(
                    "transition to {} at {} days must come after the one to {} at {} days; try {proposal}",
                    t.storage_class, t.days, prev.storage_class, prev.days
                ),
            });
        }
    }
    if let Some(latest) = transitions.iter().max_by_key(|t| t.days)
        && retention_days <= latest.days
    {
        problems.push(LifecycleProblem {
            culprit: Culprit::RetentionDays,
            rule: "lifecycle.expiration-after-transitions",
            message: format!(
                "retention_days ({retention_days}) must be later than every transition ({} at {} days); try {proposal}",
                latest.storage_class, latest.days
            ),
        });
    }
    problems
}

/// A valid shape close to the one asked, e.g. `STANDARD_IA 30 → GLACIER 60 → expire >= 150`:
/// classes in waterfall order, each at or after its minimum and after the
/// previous class's minimum storage time, expiry once the last one is paid.
pub(crate) fn propose(transitions: &[Transition], retention_days: u32) -> String {
    let mut classes: Vec<Transition> = transitions.to_vec();
    classes.sort_by_key(|t| (t.storage_class.rank(), t.days));
    classes.dedup_by_key(|t| t.storage_class);
    let mut steps = Vec::new();
    let mut earliest = 0u32;
    for t in &classes {
        let days = t
            .days
            .max(t.storage_class.minimum_transition_days())
            .max(earliest);
        steps.push(format!("{} {days}", t.storage_class));
        earliest = days.saturating_add(t.storage_class.minimum_storage_days().max(1));
    }
    let expire = if classes.is_empty() {
        retention_days.max(1)
    } else {
        earliest
    };
    steps.push(format!("expire >= {expire}"));
    steps.join(" → ")
}

/// Cost warnings that AWS accepts but bills for: expiring before an object's
/// minimum storage time in its last class pays the rest anyway.
pub(crate) fn cost_warnings(transitions: &[Transition], retention_days: u32) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut stays = transitions
        .windows(2)
        .map(|w| (w[0], w[1].days))
        .collect::<Vec<_>>();
    if let Some(last) = transitions.last() {
        stays.push((*last, retention_days));
    }
    for (t, leaves_at) in stays {
        let stay = leaves_at.saturating_sub(t.days);
        let minimum = t.storage_class.minimum_storage_days();
        if stay < minimum {
            warnings.push(format!(
                "objects stay {stay} days in {} but are billed at least {minimum}: each one pays an early-delete fee",
                t.storage_class
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(days: u32, class: StorageClass) -> Transition {
        Transition {
            days,
            storage_class: class,
        }
    }

    #[test]
    fn the_seeds_example_is_refused_with_a_valid_proposal() {
        let seed = [t(7, StorageClass::StandardIa), t(30, StorageClass::Glacier)];
        let problems = check(&seed, 90);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].rule, "lifecycle.ia-minimum-days");
        assert_eq!(problems[0].culprit, Culprit::TransitionDays(0));
        assert!(
            problems[0]
                .message
                .contains("try STANDARD_IA 30 → GLACIER 60 → expire >= 150"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn valid_shapes_pass() {
        let shapes: [(&[Transition], u32); 4] = [
            (&[], 1),
            (
                &[
                    t(30, StorageClass::StandardIa),
                    t(60, StorageClass::Glacier),
                ],
                150,
            ),
            (&[t(10, StorageClass::GlacierIr)], 100),
            (
                &[
                    t(0, StorageClass::IntelligentTiering),
                    t(30, StorageClass::OnezoneIa),
                ],
                60,
            ),
        ];
        for (transitions, retention) in shapes {
            assert_eq!(check(transitions, retention), vec![], "{transitions:?}");
        }
    }

    #[test]
    fn table_of_broken_rules() {
        let cases: [(&[Transition], u32, &str, Culprit); 5] = [
            (
                &[t(29, StorageClass::OnezoneIa)],
                90,
                "lifecycle.ia-minimum-days",
                Culprit::TransitionDays(0),
            ),
            (
                &[
                    t(30, StorageClass::Glacier),
                    t(60, StorageClass::StandardIa),
                ],
                200,
                "lifecycle.waterfall",
                Culprit::TransitionClass(1),
            ),
            (
                &[t(30, StorageClass::Glacier), t(90, StorageClass::Glacier)],
                200,
                "lifecycle.waterfall",
                Culprit::TransitionClass(1),
            ),
            (
                &[t(60, StorageClass::GlacierIr), t(60, StorageClass::Glacier)],
                200,
                "lifecycle.increasing-days",
                Culprit::TransitionDays(1),
            ),
            (
                &[t(30, StorageClass::Glacier)],
                30,
                "lifecycle.expiration-after-transitions",
                Culprit::RetentionDays,
            ),
        ];
        for (transitions, retention, rule, culprit) in cases {
            let problems = check(transitions, retention);
            assert!(
                problems
                    .iter()
                    .any(|p| p.rule == rule && p.culprit == culprit),
                "{transitions:?} {retention}: {problems:?}"
            );
        }
    }

    #[test]
    fn every_proposal_is_itself_valid() {
        let inputs: [&[Transition]; 3] = [
            &[t(7, StorageClass::StandardIa), t(30, StorageClass::Glacier)],
            &[
                t(30, StorageClass::DeepArchive),
                t(10, StorageClass::GlacierIr),
            ],
            &[t(5, StorageClass::OnezoneIa), t(5, StorageClass::OnezoneIa)],
        ];
        for input in inputs {
            let proposal = propose(input, 10);
            let mut repaired = Vec::new();
            let mut expire = 0;
            for step in proposal.split(" → ") {
                let (name, days) = step.rsplit_once(' ').expect("step has days");
                let days: u32 = days.parse().expect("days are a number");
                match StorageClass::parse(name) {
                    Some(class) => repaired.push(t(days, class)),
                    None => expire = days,
                }
            }
            assert_eq!(check(&repaired, expire), vec![], "{proposal}");
            assert_eq!(
                cost_warnings(&repaired, expire),
                Vec::<String>::new(),
                "{proposal}"
            );
        }
    }

    #[test]
    fn early_expiry_is_a_cost_warning() {
        let warnings = cost_warnings(&[t(30, StorageClass::Glacier)], 90);
        assert!(warnings[0].contains("billed at least 90"), "{warnings:?}");
    }
}
