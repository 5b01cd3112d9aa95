//! The face detector's simulated twin (`sim` feature): the synthetic scene's
//! cartoon person is not a face the real detector finds (tests/presence.rs shows
//! it), so for `simulate` the twin reads what the simulated camera drew, as the API
//! stand-in does: the scene's marker strip in the view says who is there, and the
//! scene's own geometry where their face is.

use livegate_standin::scene::{self, Subject};

use super::detect::FaceDetector;
use super::{FaceBox, GreyView};

/// Reports the face the synthetic scene drew: none for nobody (or a view without a
/// readable marker), the head for a person, the face in the photo for a spoof.
#[derive(Clone, Copy, Debug, Default)]
pub struct SceneTwin;

impl FaceDetector for SceneTwin {
    fn detect(&mut self, view: &GreyView) -> Vec<FaceBox> {
        let Some(subject) = scene::read_grey(view.width, view.height, &view.pixels) else {
            return Vec::new();
        };
        if subject == Subject::Nobody {
            return Vec::new();
        }
        scene::face_box(view.width, view.height, subject)
            .map(|(x, y, w, h)| FaceBox {
                x: x.round() as i32,
                y: y.round() as i32,
                width: w.round().max(1.0) as u32,
                height: h.round().max(1.0) as u32,
                score: 10.0,
            })
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::view::{from_jpeg, VIEW_WIDTH};
    use crate::presence::{judge, Look, Params};
    use livegate_core::presence::Sighting;

    fn view_of(subject: Subject) -> GreyView {
        let jpeg = scene::render(640, 480, subject, 85).expect("render");
        from_jpeg(&jpeg, VIEW_WIDTH).expect("decode")
    }

    #[test]
    fn nobody_has_no_face_and_a_person_a_good_one() {
        let mut twin = SceneTwin;
        assert!(twin.detect(&view_of(Subject::Nobody)).is_empty());
        let params = Params::default();
        for subject in [Subject::Neutral, Subject::Doing(0), Subject::Doing(6)] {
            let view = view_of(subject);
            let faces = twin.detect(&view);
            assert_eq!(faces.len(), 1, "{subject:?}");
            let f = faces[0];
            // The head: centred, about a third of the view high.
            assert!((f.x + f.width as i32 / 2 - 160).abs() <= 2, "{f:?}");
            assert!((60..=110).contains(&f.height), "{f:?}");
            let look = Look {
                view_width: view.width,
                view_height: view.height,
                faces: &faces,
            };
            assert_eq!(judge(&params, &look), Sighting::Good, "{subject:?}");
        }
    }

    #[test]
    fn the_photo_of_a_spoof_is_a_smaller_face() {
        let mut twin = SceneTwin;
        let live = twin.detect(&view_of(Subject::Neutral));
        let photo = twin.detect(&view_of(Subject::Still));
        assert_eq!(photo.len(), 1);
        assert!(photo[0].width < live[0].width, "{photo:?} vs {live:?}");
    }

    #[test]
    fn a_view_without_the_marker_has_no_face() {
        let mut twin = SceneTwin;
        let blank = GreyView::new(320, 240, vec![128; 320 * 240]).expect("320x240");
        assert!(twin.detect(&blank).is_empty());
        let short = GreyView {
            width: 320,
            height: 240,
            pixels: vec![0; 10],
        };
        assert!(twin.detect(&short).is_empty());
    }
}
