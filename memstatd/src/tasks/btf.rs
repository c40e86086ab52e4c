//! A reader of kernel BTF (`/sys/kernel/btf/vmlinux`) for what the exit
//! program needs: where a named member of a named struct is, and how big it
//! is. The format is the kernel's `include/uapi/linux/btf.h`: a header, a
//! type section (records of `struct btf_type` followed by kind-specific
//! data) and a string section. Members of anonymous structs and unions are
//! searched too, as C makes them members of the enclosing struct.

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// A member found: its byte offset in the outermost struct and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) offset: u32,
    pub(crate) size: u32,
}

#[derive(Clone, Copy, Debug)]
struct Type {
    name: u32,
    kind: u32,
    vlen: u32,
    kind_flag: bool,
    /// Size, or the type referred to.
    size_type: u32,
    /// Where its kind-specific data starts in the type section.
    data: usize,
}

/// Parsed BTF: every type, and the strings.
#[derive(Debug)]
pub(crate) struct Btf {
    types: Vec<Type>,
    section: Vec<u8>,
    strings: Vec<u8>,
    little: bool,
}

fn u32_at(b: &[u8], at: usize, little: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    })
}

impl Btf {
    /// Parses a BTF blob; `Err` says what is wrong with it.
    pub(crate) fn parse(b: &[u8]) -> Result<Btf, String> {
        let little = match b.get(0..2) {
            Some([0x9f, 0xeb]) => true,
            Some([0xeb, 0x9f]) => false,
            _ => return Err(format!("not BTF: no magic {MAGIC:#x}")),
        };
        let word = |at| u32_at(b, at, little).ok_or("BTF header is cut short");
        let hdr_len = word(4)? as usize;
        let (type_off, type_len) = (word(8)? as usize, word(12)? as usize);
        let (str_off, str_len) = (word(16)? as usize, word(20)? as usize);
        let part = |off: usize, len: usize, what: &str| {
            hdr_len
                .checked_add(off)
                .and_then(|s| Some((s, s.checked_add(len)?)))
                .and_then(|(s, e)| b.get(s..e))
                .map(<[u8]>::to_vec)
                .ok_or(format!("BTF {what} section lies past the end"))
        };
        let section = part(type_off, type_len, "type")?;
        let strings = part(str_off, str_len, "string")?;
        let mut btf = Btf {
            types: Vec::new(),
            section,
            strings,
            little,
        };
        btf.index()?;
        Ok(btf)
    }

    fn index(&mut self) -> Result<(), String> {
        let mut at = 0;
        let s = &self.section;
        while at < s.len() {
            let field = |i: usize| {
                u32_at(s, at + 4 * i, self.little)
                    .ok_or_else(|| format!("BTF type {} is cut short", self.types.len() + 1))
            };
            let (name, info, size_type) = (field(0)?, field(1)?, field(2)?);
            let (kind, vlen) = ((info >> 24) & 0x1f, info & 0xffff);
            let data = at + 12;
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen as usize,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen as usize,
                0..=19 => 0,
                _ => {
                    return Err(format!(
                        "BTF type {} has unknown kind {kind}",
                        self.types.len() + 1
                    ))
                }
            };
            self.types.push(Type {
                name,
                kind,
                vlen,
                kind_flag: info >> 31 != 0,
                size_type,
                data,
            });
            at = data + extra;
        }
        Ok(())
    }

    fn name(&self, off: u32) -> &[u8] {
        let rest = self.strings.get(off as usize..).unwrap_or(&[]);
        &rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())]
    }

    /// Type `id` (ids start at 1; 0 is void).
    fn get(&self, id: u32) -> Option<&Type> {
        self.types.get((id as usize).checked_sub(1)?)
    }

    /// Size in bytes of type `id`, through typedefs and qualifiers;
    /// pointers are `ptr_size`.
    fn size_of(&self, mut id: u32, ptr_size: u32) -> Option<u32> {
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                KIND_PTR => return Some(ptr_size),
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.size_type
                }
                KIND_ARRAY => {
                    let elem = u32_at(&self.section, t.data, self.little)?;
                    let n = u32_at(&self.section, t.data + 8, self.little)?;
                    return self.size_of(elem, ptr_size)?.checked_mul(n);
                }
                _ => return Some(t.size_type),
            }
        }
        None
    }

    /// The size of the integer type named `name` (e.g. `long unsigned int`).
    pub(crate) fn int_size(&self, name: &str) -> Option<u32> {
        let t = self
            .types
            .iter()
            .find(|t| t.kind == KIND_INT && self.name(t.name) == name.as_bytes())?;
        Some(t.size_type)
    }

    /// `strct.member`: where it is and how big (pointers as big as an
    /// `unsigned long`).
    pub(crate) fn member(&self, strct: &str, member: &str) -> Result<Member, String> {
        let ptr_size = self.int_size("long unsigned int").unwrap_or(8);
        let id = (1..=self.types.len() as u32)
            .find(|&id| {
                let t = &self.types[id as usize - 1];
                t.kind == KIND_STRUCT && t.vlen > 0 && self.name(t.name) == strct.as_bytes()
            })
            .ok_or_else(|| format!("kernel BTF has no struct {strct}"))?;
        self.find_member(id, member, 0, ptr_size, 0)
            .ok_or_else(|| format!("kernel BTF has no member {member} in struct {strct}"))
    }

    fn find_member(
        &self,
        id: u32,
        member: &str,
        base_bits: u64,
        ptr: u32,
        depth: u32,
    ) -> Option<Member> {
        let t = self.get(id)?;
        if depth > 8 || !matches!(t.kind, KIND_STRUCT | KIND_UNION) {
            return None;
        }
        for i in 0..t.vlen as usize {
            let at = t.data + 12 * i;
            let name = u32_at(&self.section, at, self.little)?;
            let ty = u32_at(&self.section, at + 4, self.little)?;
            let raw = u32_at(&self.section, at + 8, self.little)?;
            let bits = base_bits + u64::from(if t.kind_flag { raw & 0xff_ffff } else { raw });
            if name == 0 {
                let inner = self.strip(ty);
                if let Some(m) = self.find_member(inner, member, bits, ptr, depth + 1) {
                    return Some(m);
                }
            } else if self.name(name) == member.as_bytes() {
                return Some(Member {
                    offset: u32::try_from(bits / 8).ok()?,
                    size: self.size_of(ty, ptr)?,
                });
            }
        }
        None
    }

    /// `id` through typedefs and qualifiers.
    fn strip(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.get(id) {
                Some(t)
                    if matches!(
                        t.kind,
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    id = t.size_type
                }
                _ => break,
            }
        }
        id
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a little-endian BTF blob from (name, info, size_type, data) records.
    pub(crate) struct Builder {
        types: Vec<u8>,
        strings: Vec<u8>,
    }

    impl Builder {
        pub(crate) fn new() -> Self {
            Builder {
                types: Vec::new(),
                strings: vec![0],
            }
        }

        pub(crate) fn str(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let at = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            at
        }

        pub(crate) fn ty(
            &mut self,
            name: &str,
            kind: u32,
            vlen: u32,
            flag: bool,
            st: u32,
            data: &[u32],
        ) {
            let name = self.str(name);
            let info = (kind << 24) | vlen | if flag { 1 << 31 } else { 0 };
            for w in [name, info, st].iter().chain(data) {
                self.types.extend_from_slice(&w.to_le_bytes());
            }
        }

        pub(crate) fn build(&self) -> Vec<u8> {
            let mut b = vec![0x9f, 0xeb, 1, 0];
            for w in [
                24,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strings.len() as u32,
            ] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.extend_from_slice(&self.types);
            b.extend_from_slice(&self.strings);
            b
        }
    }

    /// struct task { int pid; union { long x; struct { unsigned long min_flt, maj_flt; }; };
    ///               struct signal *signal; }  with the union at byte 8.
    pub(crate) fn sample() -> Vec<u8> {
        let mut b = Builder::new();
        b.ty("int", KIND_INT, 0, false, 4, &[32]); // 1
        b.ty("long unsigned int", KIND_INT, 0, false, 8, &[64]); // 2
        let (min, maj) = (b.str("min_flt"), b.str("maj_flt"));
        b.ty("", KIND_STRUCT, 2, false, 16, &[min, 2, 0, maj, 2, 64]); // 3
        let x = b.str("x");
        b.ty("", KIND_UNION, 2, false, 16, &[x, 2, 0, 0, 3, 0]); // 4
        b.ty("signal", KIND_STRUCT, 0, false, 0, &[]); // 5: empty, like a forward one
        b.ty("", KIND_PTR, 0, false, 5, &[]); // 6
        b.ty("ulong_t", KIND_TYPEDEF, 0, false, 2, &[]); // 7
        let (pid, sig, tail) = (b.str("pid"), b.str("signal"), b.str("tail"));
        // kind_flag: offsets carry a bitfield size in the top byte.
        b.ty(
            "task",
            KIND_STRUCT,
            4,
            true,
            40,
            &[pid, 1, 0, 0, 4, 64, sig, 6, 192, tail, 7, 256 | (3 << 24)],
        ); // 8
        b.build()
    }

    #[test]
    fn finds_members_through_anonymous_unions_and_structs() {
        let btf = Btf::parse(&sample()).unwrap();
        let m = |s, f| btf.member(s, f);
        assert_eq!(m("task", "pid"), Ok(Member { offset: 0, size: 4 }));
        assert_eq!(m("task", "x"), Ok(Member { offset: 8, size: 8 }));
        assert_eq!(m("task", "min_flt"), Ok(Member { offset: 8, size: 8 }));
        assert_eq!(
            m("task", "maj_flt"),
            Ok(Member {
                offset: 16,
                size: 8
            })
        );
        assert_eq!(
            m("task", "signal"),
            Ok(Member {
                offset: 24,
                size: 8
            })
        );
        assert_eq!(
            m("task", "tail"),
            Ok(Member {
                offset: 32,
                size: 8
            })
        );
        assert_eq!(
            m("task", "nope"),
            Err("kernel BTF has no member nope in struct task".into())
        );
        assert_eq!(
            m("signal", "maxrss"),
            Err("kernel BTF has no struct signal".into())
        );
        assert_eq!(btf.int_size("long unsigned int"), Some(8));
    }

    #[test]
    fn refuses_what_is_not_btf_or_cut_short() {
        assert!(Btf::parse(b"ELF\0").unwrap_err().contains("not BTF"));
        let b = sample();
        assert!(Btf::parse(&b[..20]).unwrap_err().contains("cut short"));
        assert!(Btf::parse(&b[..b.len() - 40])
            .unwrap_err()
            .contains("past the end"));
        let mut bad = b.clone();
        bad[24 + 7] = 30; // first type's kind
        assert!(Btf::parse(&bad).unwrap_err().contains("unknown kind 30"));
    }

    #[test]
    fn reads_this_kernels_btf() {
        let Ok(bytes) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            return;
        };
        let btf = Btf::parse(&bytes).unwrap();
        let min = btf.member("task_struct", "min_flt").unwrap();
        let maj = btf.member("task_struct", "maj_flt").unwrap();
        assert_eq!(min.size, std::mem::size_of::<libc::c_ulong>() as u32);
        assert_eq!(maj.offset, min.offset + min.size);
        let signal = btf.member("task_struct", "signal").unwrap();
        assert_eq!(signal.size, min.size);
        assert!(btf.member("signal_struct", "maxrss").is_ok());
    }
}
