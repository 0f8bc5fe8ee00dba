//! What a program file names as the next file the kernel opens to run it: the interpreter of a
//! `#!` script (as `binfmt_script` reads the line) or the ELF interpreter (`PT_INTERP`, the
//! dynamic loader) of an ELF program (as `binfmt_elf` reads it). Pure: parses bytes the caller
//! read; opens nothing and follows no path.

/// How many bytes of a file the kernel reads to tell its format (`BINPRM_BUF_SIZE`): a `#!`
/// line longer than this is cut.
pub(crate) const HEADER_BYTES: usize = 256;
/// The longest program header table the kernel reads (`ELF_MIN_ALIGN`, one page).
pub(crate) const MAX_PROGRAM_HEADERS_BYTES: usize = 4096;
/// The longest `PT_INTERP` path the kernel accepts (`PATH_MAX`).
pub(crate) const MAX_INTERP_BYTES: u64 = 4096;

/// `PT_INTERP`.
const PT_INTERP: u32 = 3;
/// `ET_EXEC` and `ET_DYN`: the only ELF types the kernel executes.
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

/// What the first [`HEADER_BYTES`] of a file say about how it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// A `#!` script: the interpreter as written and the one optional argument (the rest of
    /// the line, as the kernel passes it).
    Script {
        /// The interpreter's path as written.
        interpreter: String,
        /// The rest of the line after the interpreter, if any.
        argument: Option<String>,
    },
    /// An ELF program: where its program header table is.
    Elf(ElfLayout),
    /// Neither: the kernel refuses it (`ENOEXEC`) unless a `binfmt_misc` handler takes it.
    Unknown,
}

/// Where an ELF file's program headers are, and how to read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ElfLayout {
    /// ELFCLASS64 (else 32).
    pub(crate) wide: bool,
    /// ELFDATA2LSB (else big-endian).
    pub(crate) little: bool,
    /// `e_phoff`.
    pub(crate) table_offset: u64,
    /// `e_phentsize`.
    pub(crate) entry_size: usize,
    /// `e_phnum`.
    pub(crate) entries: usize,
}

impl ElfLayout {
    /// The size of the program header table, which the caller reads at `table_offset`.
    pub(crate) fn table_bytes(&self) -> usize {
        self.entry_size * self.entries
    }
}

/// Why a file's header cannot say what runs it (the kernel would refuse it too).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum HeaderError {
    /// A `#!` line names no interpreter, or one longer than the kernel reads.
    #[error("its `#!` line names no interpreter the kernel can read")]
    EmptyShebang,
    /// The ELF header is cut short or inconsistent.
    #[error("its ELF header is malformed ({detail})")]
    BadElf {
        /// What is wrong.
        detail: &'static str,
    },
}

/// Reads the format from the first bytes of a file (up to [`HEADER_BYTES`]).
pub(crate) fn header(first: &[u8]) -> Result<Header, HeaderError> {
    let first = &first[..first.len().min(HEADER_BYTES)];
    if let Some(line) = first.strip_prefix(b"#!") {
        return shebang(line);
    }
    if first.starts_with(b"\x7fELF") {
        return elf_layout(first).map(Header::Elf);
    }
    Ok(Header::Unknown)
}

/// `binfmt_script`: the line up to `\n` (or the end of the buffer), blanks around trimmed;
/// the interpreter up to the first blank, the rest (blanks before it skipped) one argument.
fn shebang(line: &[u8]) -> Result<Header, HeaderError> {
    let blank = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let newline = line.iter().position(|byte| *byte == b'\n');
    let line = &line[..newline.unwrap_or(line.len())];
    let start = line
        .iter()
        .position(|byte| !blank(byte))
        .ok_or(HeaderError::EmptyShebang)?;
    let end = line.iter().rposition(|byte| !blank(byte)).unwrap_or(start) + 1;
    let line = &line[start..end];
    let name_end = line.iter().position(blank).unwrap_or(line.len());
    // With no newline in the buffer, an interpreter name running to its end may be cut.
    if newline.is_none() && name_end == line.len() {
        return Err(HeaderError::EmptyShebang);
    }
    let interpreter = String::from_utf8_lossy(&line[..name_end]).into_owned();
    let rest = &line[name_end..];
    let argument = rest
        .iter()
        .position(|byte| !blank(byte))
        .map(|at| String::from_utf8_lossy(&rest[at..]).into_owned());
    Ok(Header::Script {
        interpreter,
        argument,
    })
}

fn elf_layout(first: &[u8]) -> Result<ElfLayout, HeaderError> {
    let bad = |detail| HeaderError::BadElf { detail };
    let wide = match first.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err(bad("unknown class")),
    };
    let little = match first.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => return Err(bad("unknown byte order")),
    };
    let reader = Reader { little };
    let kind = reader.u16(first, 16).ok_or(bad("short header"))?;
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(bad("not an executable or shared object"));
    }
    let (table_offset, entry_size, entries) = if wide {
        (
            reader.u64(first, 32),
            reader.u16(first, 54),
            reader.u16(first, 56),
        )
    } else {
        (
            reader.u32(first, 28).map(u64::from),
            reader.u16(first, 42),
            reader.u16(first, 44),
        )
    };
    let (Some(table_offset), Some(entry_size), Some(entries)) = (table_offset, entry_size, entries)
    else {
        return Err(bad("short header"));
    };
    let layout = ElfLayout {
        wide,
        little,
        table_offset,
        entry_size: usize::from(entry_size),
        entries: usize::from(entries),
    };
    let expected = if wide { 56 } else { 32 };
    if layout.entry_size != expected {
        return Err(bad("unexpected program header size"));
    }
    if layout.table_bytes() == 0 || layout.table_bytes() > MAX_PROGRAM_HEADERS_BYTES {
        return Err(bad("program header table size"));
    }
    Ok(layout)
}

/// Where the first `PT_INTERP` segment of the program header `table` is: `(offset, size)`,
/// or `None` for a program without one (statically linked).
pub(crate) fn interp_segment(
    layout: &ElfLayout,
    table: &[u8],
) -> Result<Option<(u64, u64)>, HeaderError> {
    let bad = |detail| HeaderError::BadElf { detail };
    let reader = Reader {
        little: layout.little,
    };
    if table.len() < layout.table_bytes() {
        return Err(bad("short program header table"));
    }
    for entry in table.chunks_exact(layout.entry_size).take(layout.entries) {
        if reader.u32(entry, 0) != Some(PT_INTERP) {
            continue;
        }
        let (offset, size) = if layout.wide {
            (reader.u64(entry, 8), reader.u64(entry, 32))
        } else {
            (
                reader.u32(entry, 4).map(u64::from),
                reader.u32(entry, 16).map(u64::from),
            )
        };
        let (Some(offset), Some(size)) = (offset, size) else {
            return Err(bad("short program header"));
        };
        if !(2..=MAX_INTERP_BYTES).contains(&size) {
            return Err(bad("interpreter path size"));
        }
        return Ok(Some((offset, size)));
    }
    Ok(None)
}

/// The interpreter path in a `PT_INTERP` segment's bytes: NUL-terminated at its end, as the
/// kernel requires.
pub(crate) fn interp_path(segment: &[u8]) -> Result<String, HeaderError> {
    match segment.split_last() {
        Some((0, path)) if !path.is_empty() && !path.contains(&0) => {
            Ok(String::from_utf8_lossy(path).into_owned())
        }
        _ => Err(HeaderError::BadElf {
            detail: "interpreter path not NUL-terminated",
        }),
    }
}

/// Reads fixed-size integers of one byte order.
struct Reader {
    little: bool,
}

impl Reader {
    fn bytes<const N: usize>(&self, data: &[u8], at: usize) -> Option<[u8; N]> {
        data.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u16(&self, data: &[u8], at: usize) -> Option<u16> {
        let bytes = self.bytes::<2>(data, at)?;
        Some(if self.little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    }

    fn u32(&self, data: &[u8], at: usize) -> Option<u32> {
        let bytes = self.bytes::<4>(data, at)?;
        Some(if self.little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    }

    fn u64(&self, data: &[u8], at: usize) -> Option<u64> {
        let bytes = self.bytes::<8>(data, at)?;
        Some(if self.little {
            u64::from_le_bytes(bytes)
        } else {
            u64::from_be_bytes(bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn script(interpreter: &str, argument: Option<&str>) -> Result<Header, HeaderError> {
        Ok(Header::Script {
            interpreter: interpreter.into(),
            argument: argument.map(Into::into),
        })
    }

    #[test]
    fn a_shebang_line_reads_as_the_kernel_reads_it() {
        assert_eq!(header(b"#!/bin/sh\necho hi\n"), script("/bin/sh", None));
        assert_eq!(
            header(b"#! \t/usr/bin/env  python3 -u \t\nprint()\n"),
            script("/usr/bin/env", Some("python3 -u"))
        );
        assert_eq!(header(b"#!/bin/sh \n"), script("/bin/sh", None));
        // A relative interpreter is read as written; the resolver decides about it.
        assert_eq!(header(b"#!sh\n"), script("sh", None));
        assert_eq!(header(b"#!\n"), Err(HeaderError::EmptyShebang));
        assert_eq!(header(b"#!   \t\n"), Err(HeaderError::EmptyShebang));
        // No newline within the buffer: an argument is cut, an interpreter name is refused.
        let mut long = b"#!/bin/sh ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 400));
        assert_eq!(
            header(&long),
            script("/bin/sh", Some(&"x".repeat(HEADER_BYTES - 10)))
        );
        let mut long_name = b"#!/".to_vec();
        long_name.extend(std::iter::repeat_n(b'x', 400));
        assert_eq!(header(&long_name), Err(HeaderError::EmptyShebang));
        assert_eq!(header(b"echo hi\n"), Ok(Header::Unknown));
        assert_eq!(header(b""), Ok(Header::Unknown));
    }

    /// A minimal 64-bit little-endian ELF with its program headers right after the header
    /// and, with `interp`, a PT_INTERP segment at offset 0x100.
    fn elf64(interp: Option<&str>) -> Vec<u8> {
        let mut file = vec![0u8; 0x200];
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = 2;
        file[5] = 1;
        file[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        file[32..40].copy_from_slice(&64u64.to_le_bytes());
        file[54..56].copy_from_slice(&56u16.to_le_bytes());
        file[56..58].copy_from_slice(&2u16.to_le_bytes());
        // Entry 0: PT_LOAD (1); entry 1: PT_INTERP when asked, else PT_NOTE (4).
        file[64..68].copy_from_slice(&1u32.to_le_bytes());
        let second = 64 + 56;
        let kind = if interp.is_some() { PT_INTERP } else { 4 };
        file[second..second + 4].copy_from_slice(&kind.to_le_bytes());
        if let Some(interp) = interp {
            let size = interp.len() as u64 + 1;
            file[second + 8..second + 16].copy_from_slice(&0x100u64.to_le_bytes());
            file[second + 32..second + 40].copy_from_slice(&size.to_le_bytes());
            file[0x100..0x100 + interp.len()].copy_from_slice(interp.as_bytes());
        }
        file
    }

    fn loader_of(file: &[u8]) -> Result<Option<String>, HeaderError> {
        let Header::Elf(layout) = header(file)? else {
            panic!("not read as ELF");
        };
        let start = layout.table_offset as usize;
        let table = &file[start..start + layout.table_bytes()];
        Ok(match interp_segment(&layout, table)? {
            Some((offset, size)) => Some(interp_path(
                &file[offset as usize..(offset + size) as usize],
            )?),
            None => None,
        })
    }

    #[test]
    fn an_elf_program_names_its_loader_and_a_static_one_none() {
        assert_eq!(
            loader_of(&elf64(Some("/lib64/ld-linux-x86-64.so.2"))),
            Ok(Some("/lib64/ld-linux-x86-64.so.2".into()))
        );
        assert_eq!(loader_of(&elf64(None)), Ok(None));
    }

    #[test]
    fn a_32_bit_big_endian_elf_is_read_in_its_own_layout() {
        let mut file = vec![0u8; 0x100];
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = 1;
        file[5] = 2;
        file[16..18].copy_from_slice(&ET_EXEC.to_be_bytes());
        file[28..32].copy_from_slice(&52u32.to_be_bytes());
        file[42..44].copy_from_slice(&32u16.to_be_bytes());
        file[44..46].copy_from_slice(&1u16.to_be_bytes());
        file[52..56].copy_from_slice(&PT_INTERP.to_be_bytes());
        file[56..60].copy_from_slice(&0x80u32.to_be_bytes());
        file[68..72].copy_from_slice(&8u32.to_be_bytes());
        file[0x80..0x88].copy_from_slice(b"/lib/ld\0");
        assert_eq!(loader_of(&file), Ok(Some("/lib/ld".into())));
    }

    #[test]
    fn malformed_elf_headers_are_errors_not_guesses() {
        fn bad<T>(detail: &'static str) -> Result<T, HeaderError> {
            Err(HeaderError::BadElf { detail })
        }
        let mut class = elf64(None);
        class[4] = 7;
        assert_eq!(header(&class), bad("unknown class"));
        assert_eq!(header(b"\x7fELF\x02\x01"), bad("short header"));
        let mut object = elf64(None);
        object[16] = 1;
        assert_eq!(header(&object), bad("not an executable or shared object"));
        let mut size = elf64(None);
        size[54] = 40;
        assert_eq!(header(&size), bad("unexpected program header size"));
        let mut huge = elf64(None);
        huge[56..58].copy_from_slice(&1000u16.to_le_bytes());
        assert_eq!(header(&huge), bad("program header table size"));
        let mut unterminated = elf64(Some("/lib/ld"));
        unterminated[0x100 + 7] = b'x';
        assert_eq!(
            loader_of(&unterminated),
            bad("interpreter path not NUL-terminated")
        );
        let mut empty = elf64(Some("/lib/ld"));
        empty[64 + 56 + 32..64 + 56 + 40].copy_from_slice(&1u64.to_le_bytes());
        assert_eq!(loader_of(&empty), bad("interpreter path size"));
    }
}
