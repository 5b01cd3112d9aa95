//! A model of the SSD1306 as far as livegate's adapter drives it: commands, display
//! memory in horizontal addressing, and what a person sees on the glass. Shared by
//! tests/oled.rs (a recording `I2c` in process) and tests/hw_vm.rs (a recording I2C
//! adapter in the kernel).
#![allow(dead_code)] // each test crate uses its own part

use livegate::display::sim::Framebuffer;

/// The controller as far as the adapter uses it. The module is taken to be wired the
/// usual way: with segment remap on (0xA1) and COM scan reversed (0xC8) the picture
/// is upright, i.e. the person's pixel (x, y) shows memory column `x` (127 - x
/// without remap) and row `y` (height - 1 - y with a normal COM scan).
pub struct Model {
    pub ram: [[u8; 128]; 8],
    pub cols: (u8, u8),
    pub pages: (u8, u8),
    pub col: u8,
    pub page: u8,
    pub horizontal: bool,
    pub seg_remap: bool,
    pub com_reverse: bool,
    pub mux: u8,
    pub on: bool,
    pub contrast: u8,
    pub precharge: u8,
    /// Every command, with its arguments, in order.
    pub commands: Vec<Vec<u8>>,
    /// The display memory each time the panel was turned on.
    pub ram_at_on: Vec<[[u8; 128]; 8]>,
    /// Data bytes written.
    pub data_bytes: usize,
}

/// How many bytes a command takes, its own included.
pub fn command_len(op: u8) -> usize {
    match op {
        0x81 | 0x20 | 0xA8 | 0xD3 | 0xDA | 0xD5 | 0xD9 | 0xDB | 0x8D | 0xAD => 2,
        0x21 | 0x22 | 0xA3 => 3,
        0x26 | 0x27 => 7,
        0x29 | 0x2A => 6,
        0x00..=0x1F | 0x2E | 0x2F | 0x40..=0x7F | 0xA0 | 0xA1 | 0xA4..=0xA7 => 1,
        0xAE | 0xAF | 0xB0..=0xB7 | 0xC0 | 0xC8 | 0xE3 => 1,
        _ => panic!("unexpected SSD1306 command 0x{op:02X}"),
    }
}

impl Model {
    /// A panel just powered: memory full of noise.
    pub fn powered_up() -> Self {
        Self {
            ram: [[0xA5; 128]; 8],
            cols: (0, 127),
            pages: (0, 7),
            col: 0,
            page: 0,
            horizontal: false,
            seg_remap: false,
            com_reverse: false,
            mux: 63,
            on: false,
            contrast: 0x7F,
            precharge: 0x22,
            commands: Vec::new(),
            ram_at_on: Vec::new(),
            data_bytes: 0,
        }
    }

    /// The model after every transfer in `writes`, all of which must go to `address`.
    pub fn after(writes: &[(u8, Vec<u8>)], address: u8) -> Self {
        let mut m = Self::powered_up();
        for (a, bytes) in writes {
            assert_eq!(*a, address, "a transfer to another address");
            m.transfer(bytes);
        }
        m
    }

    pub fn transfer(&mut self, bytes: &[u8]) {
        let (control, rest) = bytes.split_first().expect("an empty transfer");
        match control {
            0x00 => {
                let mut i = 0;
                while i < rest.len() {
                    let n = command_len(rest[i]);
                    let cmd = rest[i..i + n].to_vec();
                    self.command(&cmd);
                    self.commands.push(cmd);
                    i += n;
                }
            }
            0x40 => rest.iter().for_each(|b| self.data(*b)),
            other => panic!("unexpected control byte 0x{other:02X}"),
        }
    }

    pub fn command(&mut self, cmd: &[u8]) {
        match cmd[0] {
            0x20 => self.horizontal = cmd[1] == 0,
            0x21 => {
                self.cols = (cmd[1], cmd[2]);
                self.col = cmd[1];
            }
            0x22 => {
                self.pages = (cmd[1], cmd[2]);
                self.page = cmd[1];
            }
            0xA0 | 0xA1 => self.seg_remap = cmd[0] == 0xA1,
            0xC0 | 0xC8 => self.com_reverse = cmd[0] == 0xC8,
            0xA8 => self.mux = cmd[1],
            0x81 => self.contrast = cmd[1],
            0xD9 => self.precharge = cmd[1],
            0xAE => self.on = false,
            0xAF => {
                self.on = true;
                self.ram_at_on.push(self.ram);
            }
            _ => {}
        }
    }

    pub fn data(&mut self, byte: u8) {
        assert!(
            self.horizontal,
            "data written outside horizontal addressing"
        );
        self.ram[usize::from(self.page)][usize::from(self.col)] = byte;
        self.data_bytes += 1;
        if self.col >= self.cols.1 {
            self.col = self.cols.0;
            self.page = if self.page >= self.pages.1 {
                self.pages.0
            } else {
                self.page + 1
            };
        } else {
            self.col += 1;
        }
    }

    pub fn ram_bit(&self, col: u32, row: u32) -> bool {
        self.ram[(row / 8) as usize][col as usize] >> (row % 8) & 1 == 1
    }

    /// What a person sees on a 128-wide panel of `mux + 1` rows.
    pub fn view(&self) -> Framebuffer {
        assert!(self.on, "the panel is off");
        let h = u32::from(self.mux) + 1;
        let mut fb = Framebuffer::new(128, h);
        for y in 0..h {
            for x in 0..128 {
                let col = if self.seg_remap { x } else { 127 - x };
                let row = if self.com_reverse { y } else { h - 1 - y };
                fb.set(x, y, self.ram_bit(col, row));
            }
        }
        fb
    }

    /// Commands with their arguments from the `from`-th on.
    pub fn opcodes_from(&self, from: usize) -> Vec<u8> {
        self.commands[from..].iter().map(|c| c[0]).collect()
    }

    /// The model after the messages a recording I2C adapter kept (all to the panel).
    pub fn replay(messages: &[Vec<u8>]) -> Self {
        let mut m = Self::powered_up();
        messages.iter().for_each(|bytes| m.transfer(bytes));
        m
    }

    /// Every command's opcode, in order.
    pub fn opcodes(&self) -> Vec<u8> {
        self.opcodes_from(0)
    }

    /// What the panel showed after each run of display data (one flush of a screen),
    /// consecutive repeats folded: the screens a person saw, in order.
    pub fn screens_seen(messages: &[Vec<u8>]) -> Vec<Framebuffer> {
        let is_data = |m: &Vec<u8>| m.first() == Some(&0x40);
        let mut m = Self::powered_up();
        let mut seen: Vec<Framebuffer> = Vec::new();
        for (i, bytes) in messages.iter().enumerate() {
            m.transfer(bytes);
            let run_ends = messages.get(i + 1).is_none_or(|next| !is_data(next));
            if is_data(bytes) && run_ends && m.on {
                let view = m.view();
                if seen.last() != Some(&view) {
                    seen.push(view);
                }
            }
        }
        seen
    }
}
