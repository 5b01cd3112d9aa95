//! Action names of the AIGEN liveness API and the words a person reads for them.
//!
//! The API names actions with raw identifiers (`Turn_left`, `Victory_right_hand`).
//! This module is the one place that knows them: the screens show [`words`], the
//! simulated camera and the API stand-in agree on each action's index in [`ALL`].

use std::borrow::Cow;

/// Which body part an action uses (the API's `part` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Face,
    Hand,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Face => "face",
            Part::Hand => "hand",
        }
    }
}

/// The six face actions, in the vendor's order.
pub const FACE: [&str; 6] = [
    "Turn_left",
    "Turn_right",
    "Look_up",
    "Look_down",
    "Open_mouth",
    "Smile",
];

/// Hand gestures that come as `<Gesture>_left_hand` / `<Gesture>_right_hand`.
const GESTURES: [(&str, &str); 11] = [
    ("Like", "Thumbs up"),
    ("I_love_you", "I love you sign"),
    ("Ok", "OK sign"),
    ("Handful", "Fist"),
    ("One", "One finger"),
    ("Two", "Two fingers"),
    ("Three", "Three fingers"),
    ("Four", "Four fingers"),
    ("Forehand", "Palm"),
    ("Backhand", "Back of hand"),
    ("Victory", "Victory sign"),
];

/// Every action the vendor documents: 6 face, 24 hand. The index of a name in this
/// list is its stable code (used by the simulated camera's marker).
pub const ALL: [&str; 30] = [
    "Turn_left",
    "Turn_right",
    "Look_up",
    "Look_down",
    "Open_mouth",
    "Smile",
    "Left_hand",
    "Right_hand",
    "Like_left_hand",
    "Like_right_hand",
    "I_love_you_left_hand",
    "I_love_you_right_hand",
    "Ok_left_hand",
    "Ok_right_hand",
    "Handful_left_hand",
    "Handful_right_hand",
    "One_left_hand",
    "One_right_hand",
    "Two_left_hand",
    "Two_right_hand",
    "Three_left_hand",
    "Three_right_hand",
    "Four_left_hand",
    "Four_right_hand",
    "Forehand_left_hand",
    "Forehand_right_hand",
    "Backhand_left_hand",
    "Backhand_right_hand",
    "Victory_left_hand",
    "Victory_right_hand",
];

/// The index of a known action name in [`ALL`] (case-insensitive).
pub fn index_of(name: &str) -> Option<usize> {
    ALL.iter().position(|a| a.eq_ignore_ascii_case(name))
}

/// The body part of a known action.
pub fn part_of(name: &str) -> Option<Part> {
    index_of(name).map(|i| {
        if i < FACE.len() {
            Part::Face
        } else {
            Part::Hand
        }
    })
}

/// The actions of one part, in vendor order.
pub fn of_part(part: Part) -> impl Iterator<Item = &'static str> {
    ALL.iter()
        .copied()
        .filter(move |a| part_of(a) == Some(part))
}

/// The words a person reads for an action: "Turn left", "Victory sign, right hand".
///
/// An unknown name is shown in a readable form of itself (`Some_new_action` →
/// "Some new action"): the service may add actions at any time.
pub fn words(name: &str) -> Cow<'static, str> {
    let known = index_of(name).map(|i| ALL[i]);
    match known {
        Some("Turn_left") => "Turn left".into(),
        Some("Turn_right") => "Turn right".into(),
        Some("Look_up") => "Look up".into(),
        Some("Look_down") => "Look down".into(),
        Some("Open_mouth") => "Open mouth".into(),
        Some("Smile") => "Smile".into(),
        Some("Left_hand") => "Show left hand".into(),
        Some("Right_hand") => "Show right hand".into(),
        Some(canonical) => {
            let (gesture, side) = if let Some(g) = canonical.strip_suffix("_left_hand") {
                (g, "left hand")
            } else if let Some(g) = canonical.strip_suffix("_right_hand") {
                (g, "right hand")
            } else {
                return readable(canonical).into();
            };
            let phrase = GESTURES
                .iter()
                .find(|(g, _)| *g == gesture)
                .map(|(_, p)| *p)
                .unwrap_or(gesture);
            format!("{phrase}, {side}").into()
        }
        None => readable(name).into(),
    }
}

/// The same action with left and right swapped (`Turn_left` ↔ `Turn_right`,
/// `Like_left_hand` ↔ `Like_right_hand`), keeping the letter case of each word. For a
/// service whose "left" means the image's left (`[camera] left_is = "image"`): the
/// person is then asked for the side that the service will see as asked.
pub fn swap_sides(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let swapped = if word.eq_ignore_ascii_case("left") {
                "right"
            } else if word.eq_ignore_ascii_case("right") {
                "left"
            } else {
                return word.to_owned();
            };
            if word.starts_with(|c: char| c.is_ascii_uppercase()) {
                let mut w = swapped.to_owned();
                w[..1].make_ascii_uppercase();
                w
            } else {
                swapped.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// A raw identifier made readable: underscores to spaces, first letter capital,
/// control characters dropped, length bounded (a hostile answer cannot flood a screen).
pub fn readable(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(40));
    for c in raw.chars().filter(|c| !c.is_control()).take(40) {
        let c = if c == '_' || c == '-' { ' ' } else { c };
        if out.is_empty() {
            if c == ' ' {
                continue;
            }
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if out.is_empty() {
        out.push_str("Follow the instruction");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_actions_six_face_twentyfour_hand() {
        assert_eq!(of_part(Part::Face).count(), 6);
        assert_eq!(of_part(Part::Hand).count(), 24);
        for g in GESTURES {
            assert!(index_of(&format!("{}_left_hand", g.0)).is_some());
            assert!(index_of(&format!("{}_right_hand", g.0)).is_some());
        }
    }

    #[test]
    fn known_actions_read_as_words() {
        assert_eq!(words("Turn_left"), "Turn left");
        assert_eq!(words("turn_LEFT"), "Turn left");
        assert_eq!(words("Victory_right_hand"), "Victory sign, right hand");
        assert_eq!(words("Handful_left_hand"), "Fist, left hand");
        assert_eq!(words("Left_hand"), "Show left hand");
    }

    #[test]
    fn sides_swap_for_every_sided_action_and_nothing_else() {
        assert_eq!(swap_sides("Turn_left"), "Turn_right");
        assert_eq!(swap_sides("Right_hand"), "Left_hand");
        assert_eq!(swap_sides("Victory_right_hand"), "Victory_left_hand");
        assert_eq!(swap_sides("Smile"), "Smile");
        assert_eq!(swap_sides("Leftover_action"), "Leftover_action");
        for a in ALL {
            assert_eq!(swap_sides(&swap_sides(a)), a);
            assert!(index_of(&swap_sides(a)).is_some(), "{a}");
        }
    }

    #[test]
    fn unknown_actions_read_as_their_name() {
        assert_eq!(words("Some_new_action"), "Some new action");
        assert_eq!(words("_blink"), "Blink");
        assert_eq!(words(""), "Follow the instruction");
        assert_eq!(words("a\u{7}b"), "Ab");
        assert!(words(&"x".repeat(500)).len() <= 40);
    }
}
