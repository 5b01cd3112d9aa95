//! Rules between keys: timeouts that must fit one another, `api.select` against
//! `api.part` and `api.mode`, the time a person may take against the session
//! timeout (`time_for_every_action`), and the board: pins or lines used twice, the
//! OLED's I2C pins, input settings without their line, the `gpio` trigger without
//! its input.

use super::checker::{Checker, DeviceKeys};
use super::decl::{Fields, Key, Named, Span, Spec, Val};
use super::keys::{self, CDEV_LINES, RPPAL_LINES};
use super::words::show;
use super::{CameraConfig, CdevGpioConfig, Config, DisplayConfig, GpioConfig, TriggerConfig};
use crate::actions::Part;
use crate::gpio::header;
use crate::gpio::line::{Bcm, LineSpec};
use crate::gpio::GpioLines;

/// A pin of `[gpio] kind = "rppal"` in use.
#[derive(Debug)]
struct UsedPin {
    /// The key, such as `gate_pin`.
    name: &'static str,
    pin: u8,
    /// The value's position; `None` for a default.
    span: Option<Span>,
}

/// Every line key of a `[gpio]` table and its line (the default when not in the
/// file), by the keys of its kind.
fn lines_by_key<A>(g: &GpioLines<A>, keys: [Spec; 9]) -> [(Spec, Option<&A>); 9] {
    let lines = g.lines();
    std::array::from_fn(|i| (keys[i], lines[i]))
}

impl Checker<'_> {
    // -- rules between keys ------------------------------------------------

    /// Reports a conflict between two keys of one table at the one written later in the
    /// file (or the one written at all); `message(at_a, note)` words it, where `note` is
    /// `", the default"` when the other key is not in the file.
    fn conflict(
        &mut self,
        table: &str,
        fields: &Fields,
        a: impl Named,
        b: impl Named,
        message: impl FnOnce(bool, &str) -> String,
    ) {
        let (sa, sb) = (fields.span(a), fields.span(b));
        let at_a = match (&sa, &sb) {
            (Some(x), Some(y)) => x.start >= y.start,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return,
        };
        let (span, name, other_set) = if at_a {
            (sa, a.key_name(), sb.is_some())
        } else {
            (sb, b.key_name(), sa.is_some())
        };
        let note = if other_set { "" } else { ", the default" };
        if let Some(span) = span {
            self.report(&span, &format!("{table}.{name}"), message(at_a, note));
        }
    }

    /// Rules that involve more than one key.
    pub(super) fn cross_checks(&mut self, cfg: &Config, api: &Fields, session: &Fields) {
        let a = &cfg.api;
        if api.ok(keys::api::base_url)
            && api.ok(keys::api::allow_insecure_http)
            && !a.allow_insecure_http
        {
            let plain = reqwest::Url::parse(&a.base_url).is_ok_and(|u| u.scheme() == "http");
            if let (true, Some(span)) = (plain, api.span(keys::api::base_url)) {
                self.report(
                    &span,
                    "api.base_url",
                    format!(
                        "{:?} is plain http (not encrypted); valid: an https:// address \
                         (http:// only with api.allow_insecure_http = true, for tests)",
                        a.base_url
                    ),
                );
            }
        }
        if api.ok(keys::api::connect_timeout)
            && api.ok(keys::api::request_timeout)
            && a.connect_timeout > a.request_timeout
        {
            let (c, r) = (show(a.connect_timeout), show(a.request_timeout));
            self.conflict(keys::API.table, api, keys::api::connect_timeout, keys::api::request_timeout, |at_connect, note| {
                if at_connect {
                    format!("{c} is longer than api.request_timeout ({r}{note}); valid: at most the request timeout")
                } else {
                    format!("{r} is shorter than api.connect_timeout ({c}{note}); valid: at least the connect timeout")
                }
            });
        }
        if let (Some(part), true, Some(Val::List(list))) =
            (a.part, api.ok(keys::api::part), api.val(keys::api::select))
        {
            for (name, span) in list {
                if crate::actions::part_of(name) == Some(part) {
                    continue;
                }
                let valid = match part {
                    Part::Face => format!("a face action: {}", crate::actions::FACE.join(", ")),
                    Part::Hand => "a hand action (a name ending in _hand)".to_owned(),
                };
                let other = match part {
                    Part::Face => "hand",
                    Part::Hand => "face",
                };
                self.report(
                    span,
                    "api.select",
                    format!(
                        "{name:?} is a {other} action, but api.part is \"{}\"; valid: {valid}",
                        part.as_str()
                    ),
                );
            }
        }
        let n = a.select.len();
        if api.ok(keys::api::mode) && api.ok(keys::api::select) && n > 0 && usize::from(a.mode) > n
        {
            let mode = a.mode;
            self.conflict(
                keys::API.table,
                api,
                keys::api::mode,
                keys::api::select,
                |at_mode, note| {
                    if at_mode {
                        format!(
                            "{mode} is more than the {n} actions in api.select; valid: a whole \
                         number from 1 to {n}, or more actions in api.select"
                        )
                    } else {
                        format!(
                            "lists {n} action{}, fewer than api.mode ({mode}{note}); valid: at \
                         least {mode} actions, or a lower api.mode",
                            if n == 1 { "" } else { "s" }
                        )
                    }
                },
            );
        }
        let s = &cfg.session;
        if session.ok(keys::session::frame_interval)
            && session.ok(keys::session::action_timeout)
            && s.frame_interval >= s.action_timeout
        {
            let (f, t) = (show(s.frame_interval), show(s.action_timeout));
            self.conflict(keys::SESSION.table, session, keys::session::frame_interval, keys::session::action_timeout, |at_frame, note| {
                if at_frame {
                    format!("{f} is not shorter than session.action_timeout ({t}{note}); valid: shorter than the action timeout")
                } else {
                    format!("{t} is not longer than session.frame_interval ({f}{note}); valid: longer than the frame interval")
                }
            });
        }
        if session.ok(keys::session::first_frame_after)
            && session.ok(keys::session::action_timeout)
            && s.first_frame_after >= s.action_timeout
        {
            let (f, t) = (show(s.first_frame_after), show(s.action_timeout));
            self.conflict(keys::SESSION.table, session, keys::session::first_frame_after, keys::session::action_timeout, |at_first, note| {
                if at_first {
                    format!("{f} is not shorter than session.action_timeout ({t}{note}); valid: shorter than the action timeout, to leave time for frames")
                } else {
                    format!("{t} is not longer than session.first_frame_after ({f}{note}); valid: longer than the wait for the first frame")
                }
            });
        }
        if session.ok(keys::session::session_timeout)
            && session.ok(keys::session::action_timeout)
            && s.session_timeout < s.action_timeout
        {
            let (w, t) = (show(s.session_timeout), show(s.action_timeout));
            self.conflict(keys::SESSION.table, session, keys::session::session_timeout, keys::session::action_timeout, |at_session, note| {
                if at_session {
                    format!("{w} is shorter than session.action_timeout ({t}{note}); valid: at least the action timeout")
                } else {
                    format!("{t} is longer than session.session_timeout ({w}{note}); valid: at most the session timeout")
                }
            });
        }
        self.time_for_every_action(cfg, api, session);
    }

    /// A session timeout shorter than the time the actions and restarts allow a
    /// person (`api.mode` × `session.action_timeout` × (1 + `session.max_restarts`))
    /// ends sessions that are still within their rules: said at the session
    /// timeout's line (or, with it unset, at the line that made it too short),
    /// naming the other keys' lines.
    fn time_for_every_action(&mut self, cfg: &Config, api: &Fields, session: &Fields) {
        let keys = [
            (keys::API.table, api, keys::api::mode.spec()),
            (
                keys::SESSION.table,
                session,
                keys::session::action_timeout.spec(),
            ),
            (
                keys::SESSION.table,
                session,
                keys::session::max_restarts.spec(),
            ),
            (
                keys::SESSION.table,
                session,
                keys::session::session_timeout.spec(),
            ),
        ];
        if keys.iter().any(|(_, f, k)| !f.ok(*k)) {
            return;
        }
        let s = &cfg.session;
        // Already said: fewer actions to choose from than api.mode, or one action
        // longer than the whole session.
        let choices = cfg.api.select.len();
        if (choices > 0 && choices < usize::from(cfg.api.mode))
            || s.session_timeout < s.action_timeout
        {
            return;
        }
        let attempts = 1 + u32::from(s.max_restarts);
        let needed = s.action_timeout * u32::from(cfg.api.mode) * attempts;
        if s.session_timeout >= needed {
            return;
        }
        let at = |(table, fields, key): &(&str, &Fields, Spec)| {
            fields
                .span(*key)
                .map(|span| (format!("{table}.{}", key.name), span))
        };
        // At the session timeout if it is set, else at the last line that is.
        let Some((key, span)) = at(&keys[3]).or_else(|| {
            keys[..3]
                .iter()
                .filter_map(at)
                .max_by_key(|(_, span)| span.start)
        }) else {
            return;
        };
        let line_of = |k: &(&str, &Fields, Spec)| match at(k) {
            Some((name, span)) if name != key => format!("line {}", self.pos(span.start).0),
            Some(_) => "this line".to_owned(),
            None => "the default".to_owned(),
        };
        let message = format!(
            "the session timeout ({}, {}) is shorter than the {} a person may take: {} \
             actions (api.mode, {}) of up to {} each (session.action_timeout, {}), in {} \
             attempt{} (session.max_restarts = {}, {}); valid: a session timeout of at \
             least {}, or fewer or shorter actions or restarts",
            show(s.session_timeout),
            line_of(&keys[3]),
            show(needed),
            cfg.api.mode,
            line_of(&keys[0]),
            show(s.action_timeout),
            line_of(&keys[1]),
            attempts,
            if attempts == 1 { "" } else { "s" },
            s.max_restarts,
            line_of(&keys[2]),
            show(needed),
        );
        self.report(&span, &key, message);
    }

    /// Rules between the hardware tables: pins used twice, pins of the OLED's I2C bus,
    /// input settings without their pin, and the GPIO trigger without its input.
    pub(super) fn hardware_checks(
        &mut self,
        cfg: &Config,
        display: &DeviceKeys,
        gpio: &DeviceKeys,
        trigger: &DeviceKeys,
    ) {
        match &cfg.gpio {
            GpioConfig::Rppal(g) if gpio.kind_ok => {
                let f = &gpio.fields;
                self.inputs_without_line(f, &RPPAL_LINES.inputs());
                // The pins in use, defaults (not in the file) first, then in file order.
                let mut used: Vec<UsedPin> = lines_by_key(g, RPPAL_LINES.specs())
                    .into_iter()
                    .filter(|(key, _)| f.ok(*key))
                    .filter_map(|(key, pin)| {
                        pin.map(|&Bcm(pin)| UsedPin {
                            name: key.name,
                            pin,
                            span: f.span(key),
                        })
                    })
                    .collect();
                used.sort_by_key(|u| u.span.as_ref().map(|s| s.start));
                self.pins_used_twice(&used);
                match &cfg.display {
                    DisplayConfig::Ssd1306(d)
                        if display.kind_ok && display.fields.ok(keys::ssd1306::bus) =>
                    {
                        self.i2c_pins(d.bus, display, &used);
                    }
                    DisplayConfig::Ssd1306(_) | DisplayConfig::Sim(_) => {}
                }
            }
            GpioConfig::Cdev(g) if gpio.kind_ok => {
                let f = &gpio.fields;
                self.inputs_without_line(f, &CDEV_LINES.inputs());
                self.lines_used_twice(g, f);
            }
            GpioConfig::Rppal(_) | GpioConfig::Sim(_) | GpioConfig::Cdev(_) => {}
        }
        let Some(kind) = &trigger.kind else {
            return;
        };
        match &cfg.trigger {
            TriggerConfig::Gpio if gpio.kind_ok => {
                // Without the `sim` feature the simulated trigger is not offered.
                let others = if cfg!(feature = "sim") {
                    "or another trigger kind: \"sim\" or \"socket\""
                } else {
                    "or another trigger kind: \"socket\""
                };
                match &cfg.gpio {
                    GpioConfig::Sim(_) => self.report(
                        kind,
                        "trigger.kind",
                        format!(
                            "\"gpio\" needs [gpio] kind = \"rppal\" with trigger_pin set; valid: \
                             kind = \"rppal\" and trigger_pin = the BCM number of the sensor or \
                             button, both in [gpio]; {others}"
                        ),
                    ),
                    GpioConfig::Rppal(g)
                        if g.trigger.is_none() && gpio.fields.ok(keys::rppal::trigger_pin) =>
                    {
                        self.report(
                            kind,
                            "trigger.kind",
                            format!(
                                "\"gpio\" needs gpio.trigger_pin, which is not set; valid: \
                                 trigger_pin in [gpio] set to the BCM number of the sensor or \
                                 button (such as trigger_pin = 22); {others}"
                            ),
                        );
                    }
                    GpioConfig::Cdev(g)
                        if g.trigger.is_none() && gpio.fields.ok(keys::cdev::trigger_line) =>
                    {
                        self.report(
                            kind,
                            "trigger.kind",
                            format!(
                                "\"gpio\" needs gpio.trigger_line, which is not set; valid: \
                                 trigger_line in [gpio] set to the offset or name of the sensor \
                                 or button's line (such as trigger_line = 22); {others}"
                            ),
                        );
                    }
                    GpioConfig::Rppal(_) | GpioConfig::Cdev(_) => {}
                }
            }
            TriggerConfig::Gpio
            | TriggerConfig::Sim(_)
            | TriggerConfig::Socket(_)
            | TriggerConfig::Wiegand
            | TriggerConfig::Camera => {}
        }
    }

    /// `trigger_pull` and the like, written without their `trigger_pin` or
    /// `trigger_line` (`inputs`: each input's line key and its settings).
    fn inputs_without_line(&mut self, f: &Fields, inputs: &[(Spec, &[Spec]); 3]) {
        for (line, keys) in inputs {
            let pin = line.name;
            if f.span(*line).is_some() || !f.ok(*line) {
                continue;
            }
            for key in *keys {
                if let Some(span) = f.span(*key) {
                    self.report(
                        &span,
                        &format!("gpio.{}", key.name),
                        format!(
                            "has no effect without {pin}; valid: set {pin} in [gpio] too, or \
                             remove this line"
                        ),
                    );
                }
            }
        }
    }

    /// Where a pin is set, for messages: `line 40` or `the default`.
    fn place(&self, span: &Option<Span>) -> String {
        match span {
            Some(s) => format!("line {}", self.pos(s.start).0),
            None => "by default".to_owned(),
        }
    }

    /// A line of `[gpio] kind = "cdev"` given to two keys (the same offset, or the
    /// same name): reported at the later one in the file. An offset and a name for
    /// the same line cannot be told apart before the chip is opened: the kernel
    /// refuses the second request then ("busy").
    fn lines_used_twice(&mut self, g: &CdevGpioConfig, f: &Fields) {
        let mut used: Vec<(&'static str, &LineSpec, Option<Span>)> =
            lines_by_key(g, CDEV_LINES.specs())
                .into_iter()
                .filter(|(key, _)| f.ok(*key))
                .filter_map(|(key, line)| line.map(|l| (key.name, &l.line, f.span(key))))
                .collect();
        used.sort_by_key(|(_, _, span)| span.as_ref().map(|s| s.start));
        for (i, (name, line, span)) in used.iter().enumerate() {
            let Some(span) = span else {
                continue;
            };
            if let Some((first, _, first_span)) = used[..i].iter().find(|(_, l, _)| l == line) {
                let place = self.place(first_span);
                let what = match line {
                    LineSpec::Offset(o) => format!("offset {o}"),
                    LineSpec::Name(n) => format!("the line named {n:?}"),
                };
                self.report(
                    span,
                    &format!("gpio.{name}"),
                    format!(
                        "{what} is already used by gpio.{first} ({place}); valid: a line no \
                         other input or output uses"
                    ),
                );
            }
        }
    }

    /// A pin given to two keys: reported at the later one (`used` is in file order).
    fn pins_used_twice(&mut self, used: &[UsedPin]) {
        for (i, u) in used.iter().enumerate() {
            let Some(span) = &u.span else {
                continue;
            };
            if let Some(first) = used[..i].iter().find(|o| o.pin == u.pin) {
                let place = self.place(&first.span);
                self.report(
                    span,
                    &format!("gpio.{}", u.name),
                    format!(
                        "BCM {} is already used by gpio.{} ({place}); valid: a BCM GPIO number \
                         no other input or output uses",
                        u.pin, first.name
                    ),
                );
            }
        }
    }

    /// Pins that the OLED's I2C bus needs (bus 1: BCM 2 and 3; bus 0: BCM 0 and 1),
    /// reported at the later of the pin key and `display.bus` (or `display.kind` when
    /// the bus is the default).
    fn i2c_pins(&mut self, bus: u8, display: &DeviceKeys, used: &[UsedPin]) {
        let Some((sda, scl)) = header::i2c_pins(bus) else {
            return;
        };
        let (key, span, by_default) = match display.fields.span(keys::ssd1306::bus) {
            Some(s) => (keys::ssd1306::bus.name(), s, false),
            None => match &display.kind {
                Some(s) => ("kind", s.clone(), true),
                None => return,
            },
        };
        let lines = format!("I2C bus {bus} (SDA=BCM {sda}, SCL=BCM {scl})");
        let mut earlier: Vec<String> = Vec::new();
        let mut moved: Vec<String> = Vec::new();
        for u in used.iter().filter(|u| u.pin == sda || u.pin == scl) {
            match &u.span {
                Some(s) if s.start > span.start => self.report(
                    s,
                    &format!("gpio.{}", u.name),
                    format!(
                        "BCM {} is used by the OLED's {lines}; valid: a BCM GPIO number other \
                         than {sda} and {scl}, or the OLED on another I2C bus",
                        u.pin
                    ),
                ),
                _ => {
                    earlier.push(format!(
                        "BCM {} by gpio.{} ({})",
                        u.pin,
                        u.name,
                        self.place(&u.span)
                    ));
                    moved.push(format!("gpio.{}", u.name));
                }
            }
        }
        if earlier.is_empty() {
            return;
        }
        let (what, another) = if by_default {
            (
                format!("\"ssd1306\" is on I2C bus {bus} by default (SDA=BCM {sda}, SCL=BCM {scl}), which"),
                "display.bus set to another bus",
            )
        } else {
            (lines, "another bus")
        };
        let other = if moved.len() == 1 {
            "another pin"
        } else {
            "other pins"
        };
        self.report(
            &span,
            &format!("display.{key}"),
            format!(
                "{what} needs pins already used: {}; valid: {another}, or {other} for {}",
                earlier.join(", "),
                moved.join(" and ")
            ),
        );
    }
}

impl Checker<'_> {
    /// `[camera] kind = "replay"`: the directory exists and holds frames of the
    /// configured size (reported at `path`, or at `width` for a `.yuyv` of another
    /// size).
    pub(super) fn replay_checks(&mut self, cfg: &Config, camera: &DeviceKeys) {
        let CameraConfig::Replay(c) = &cfg.camera else {
            return;
        };
        let Err(e) = crate::camera::replay::list_frames(&c.path, c.width, c.height) else {
            return;
        };
        let f = &camera.fields;
        let at = match e {
            crate::camera::replay::ReplayError::WrongSize { .. } => f
                .span(keys::replay::width)
                .map(|s| (s, "camera.width"))
                .or_else(|| f.span(keys::replay::path).map(|s| (s, "camera.path"))),
            _ => f.span(keys::replay::path).map(|s| (s, "camera.path")),
        };
        let at = at.or_else(|| camera.kind.clone().map(|s| (s, "camera.kind")));
        if let Some((span, key)) = at {
            self.report(&span, key, e.to_string());
        }
    }

    /// `[presence]` against `[trigger]`: the camera trigger needs the detector on
    /// (reported at `presence.enabled` when the file turns it off, else at
    /// `trigger.kind`).
    pub(super) fn presence_checks(
        &mut self,
        cfg: &Config,
        presence: &Fields,
        trigger: &DeviceKeys,
    ) {
        if !matches!(cfg.trigger, TriggerConfig::Camera)
            || cfg.presence.enabled
            || !presence.ok(keys::presence::enabled)
        {
            return;
        }
        match (presence.span(keys::presence::enabled), &trigger.kind) {
            (Some(span), _) => self.report(
                &span,
                "presence.enabled",
                "false, but [trigger] kind = \"camera\" needs the face detector; valid: \
                 true, or another trigger kind"
                    .to_owned(),
            ),
            (None, Some(kind)) => self.report(
                kind,
                "trigger.kind",
                "\"camera\" needs the face detector, which is off; valid: enabled = true in \
                 [presence], or another trigger kind"
                    .to_owned(),
            ),
            (None, None) => {}
        }
    }

    /// `[reader]` against itself, `[gpio]` and `[trigger]`: the Wiegand lines each
    /// output or input needs (both of a pair), a card source for `on_pass = "card"`,
    /// the cards against the format, and key files closed to other users.
    pub(super) fn reader_checks(
        &mut self,
        cfg: &Config,
        reader: &Fields,
        gpio: &DeviceKeys,
        trigger: &DeviceKeys,
    ) {
        use livegate_core::wiegand::{Card, Format};
        let r = &cfg.reader;
        let pairs = match &cfg.gpio {
            GpioConfig::Rppal(g) if gpio.kind_ok => Some((
                g.wiegand.output().is_some(),
                g.wiegand.input().is_some(),
                RPPAL_LINES.wiegand.map(|k| k.spec()),
            )),
            GpioConfig::Cdev(g) if gpio.kind_ok => Some((
                g.wiegand.output().is_some(),
                g.wiegand.input().is_some(),
                CDEV_LINES.wiegand.map(|k| k.spec()),
            )),
            _ => None,
        };
        let suffix = if matches!(cfg.gpio, GpioConfig::Cdev(_)) {
            "line"
        } else {
            "pin"
        };
        if let Some((_, _, keys)) = &pairs {
            // One line of a pair without the other.
            for (a, b) in [
                (keys[0], keys[1]),
                (keys[1], keys[0]),
                (keys[2], keys[3]),
                (keys[3], keys[2]),
            ] {
                let f = &gpio.fields;
                if let (Some(span), None, true) = (f.span(a), f.span(b), f.ok(b)) {
                    self.report(
                        &span,
                        &format!("gpio.{}", a.name),
                        format!(
                            "has no effect without gpio.{}; valid: set both Wiegand lines of \
                             the pair, D0 and D1, or neither",
                            b.name
                        ),
                    );
                }
            }
        }
        let output_span = reader.span(keys::reader::output);
        if reader.ok(keys::reader::output) && r.output == "wiegand" {
            if let (Some((false, _, _)), Some(span)) = (&pairs, &output_span) {
                self.report(
                    span,
                    "reader.output",
                    format!(
                        "\"wiegand\" needs gpio.wiegand_out_d0_{suffix} and \
                         gpio.wiegand_out_d1_{suffix}, which are not set; valid: both set in \
                         [gpio] to the lines wired to the panel's D0 and D1, or output = \
                         \"osdp\" or \"none\""
                    ),
                );
            }
        }
        if let (TriggerConfig::Wiegand, Some(kind)) = (&cfg.trigger, &trigger.kind) {
            let missing = match &pairs {
                Some((_, has_in, _)) => !has_in,
                None => gpio.kind_ok,
            };
            if missing {
                self.report(
                    kind,
                    "trigger.kind",
                    format!(
                        "\"wiegand\" needs [gpio] kind = \"rppal\" or \"cdev\" with \
                         wiegand_in_d0_{suffix} and wiegand_in_d1_{suffix} set; valid: both \
                         set to the lines wired to the card reader's D0 and D1, or another \
                         trigger kind"
                    ),
                );
            }
        }
        let sends = reader.ok(keys::reader::output) && r.output != "none";
        if sends && reader.ok(keys::reader::on_pass) && r.on_pass == "card" {
            let no_source = !matches!(cfg.trigger, TriggerConfig::Wiegand) && trigger.kind_ok;
            let at = reader.span(keys::reader::on_pass).or(output_span.clone());
            if let (true, Some(span)) = (no_source, at) {
                self.report(
                    &span,
                    "reader.on_pass",
                    format!(
                        "\"card\" sends the card that started the session, but [trigger] \
                         kind = \"{}\" reads no card; valid: [trigger] kind = \"wiegand\" \
                         (in-line mode), or on_pass = \"fixed\" with fixed_card",
                        cfg.trigger.kind()
                    ),
                );
            }
        }
        self.word_needs(
            reader,
            keys::reader::on_pass,
            "fixed",
            keys::reader::fixed_card,
            "fixed_card = \"FACILITY:NUMBER\" in [reader], or on_pass = \"card\"",
        );
        if let (Some(format), true) = (Format::parse(&r.format), reader.ok(keys::reader::format)) {
            for key in [keys::reader::fixed_card, keys::reader::deny_card] {
                let (Some(text), Some(span)) = (reader.get(key).flatten(), reader.span(key)) else {
                    continue;
                };
                if let Err(e) = Card::parse(format, &text) {
                    self.report(
                        &span,
                        &format!("reader.{}", key.name()),
                        format!(
                            "{e}; valid: a card of the {format} format (reader.format), or \
                             another format"
                        ),
                    );
                }
            }
        }
        self.word_needs(
            reader,
            keys::reader::show_card,
            "hash",
            keys::reader::show_card_key_file,
            "show_card_key_file = the path of a file of random bytes closed to other users, \
             or show_card = \"last4\"",
        );
        for key in [
            keys::reader::show_card_key_file,
            keys::reader::osdp_key_file,
        ] {
            let (Some(path), Some(span)) = (reader.get(key).flatten(), reader.span(key)) else {
                continue;
            };
            if let Ok(Some(mode)) = crate::safefile::open_to_others(&path) {
                self.report(
                    &span,
                    &format!("reader.{}", key.name()),
                    format!(
                        "{} can be read by other users (mode {mode:04o}); valid: a file closed \
                         to others (chmod 600 or 640)",
                        path.display()
                    ),
                );
            }
        }
    }

    /// `[reader] choice = word` needs the key `needed`, which the file does not set:
    /// said at `choice`'s line.
    fn word_needs(
        &mut self,
        reader: &Fields,
        choice: Key<String>,
        word: &str,
        needed: impl Named,
        valid: &str,
    ) {
        let chosen = reader.get(choice).is_some_and(|w| w == word);
        if !chosen || reader.span(needed).is_some() || !reader.ok(needed) {
            return;
        }
        if let Some(span) = reader.span(choice) {
            self.report(
                &span,
                &format!("reader.{}", choice.name()),
                format!(
                    "\"{word}\" needs reader.{}, which is not set; valid: {valid}",
                    needed.key_name()
                ),
            );
        }
    }
}
