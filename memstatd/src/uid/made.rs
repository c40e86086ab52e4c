//! Names made on demand ("u10_a123", "com.foo (user 10)"), kept so that
//! `UidNames::name` can lend them out through `&self`: a radix tree over the
//! UID's four bytes whose slots are each set once, so a name, once made,
//! stays where it is until the whole cache is dropped.

use std::cell::{Cell, OnceCell};

/// Past either bound, `too_big` says to start again: 65,536 names, or
/// 1,024 nodes of 2 KiB. UIDs cluster (a user's apps, its isolated range), so
/// 256 names share a leaf.
const MAX_NAMES: usize = 65_536;
const MAX_NODES: usize = 1024;

struct Node<T>([OnceCell<T>; 256]);

type Leaf = Node<Box<str>>;
type Root = Node<Box<Node<Box<Node<Box<Leaf>>>>>>;

#[derive(Default)]
pub struct Made {
    root: OnceCell<Box<Root>>,
    names: Cell<usize>,
    nodes: Cell<usize>,
}

impl Made {
    /// The name of `uid`, made by `make` the first time it is asked for.
    pub fn get_or_make(&self, uid: u32, make: impl FnOnce() -> String) -> &str {
        let [a, b, c, d] = uid.to_be_bytes().map(usize::from);
        let root = self.root.get_or_init(|| self.node());
        let level2 = root.0[a].get_or_init(|| self.node());
        let level3 = level2.0[b].get_or_init(|| self.node());
        let leaf = level3.0[c].get_or_init(|| self.node());
        leaf.0[d].get_or_init(|| {
            self.names.set(self.names.get() + 1);
            make().into_boxed_str()
        })
    }

    fn node<T>(&self) -> Box<Node<T>> {
        self.nodes.set(self.nodes.get() + 1);
        Box::new(Node(std::array::from_fn(|_| OnceCell::new())))
    }

    /// How many names were made.
    #[cfg(test)]
    pub fn names(&self) -> usize {
        self.names.get()
    }

    pub fn too_big(&self) -> bool {
        self.names.get() > MAX_NAMES || self.nodes.get() > MAX_NODES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_big_past_either_bound() {
        let made = Made::default();
        // 257 apart: a leaf each.
        for uid in (0..).step_by(257).take(MAX_NODES) {
            made.get_or_make(uid, String::new);
        }
        assert!(made.too_big());
        let made = Made::default();
        for uid in 0..=MAX_NAMES as u32 {
            made.get_or_make(uid, String::new);
        }
        assert!(made.nodes.get() < MAX_NODES && made.too_big());
    }

    #[test]
    fn a_name_is_made_once_and_stays() {
        let made = Made::default();
        let first = made.get_or_make(1_010_123, || "u10_a123".into());
        let again = made.get_or_make(1_010_123, || unreachable!());
        assert_eq!(first, "u10_a123");
        assert!(std::ptr::eq(first, again));
        for uid in [0, 255, 256, 65_536, 99_123, u32::MAX] {
            made.get_or_make(uid, || format!("n{uid}"));
        }
        assert_eq!(made.names(), 7);
        // 1_010_123 made a path of four nodes, root included; then 0 two,
        // 255 none (0's leaf), 256 a leaf, 65_536 two, 99_123 a leaf, and
        // u32::MAX three.
        assert_eq!(made.nodes.get(), 1 + 3 + 2 + 1 + 2 + 1 + 3);
        assert!(!made.too_big());
        assert_eq!(made.get_or_make(256, || unreachable!()), "n256");
        assert_eq!(made.get_or_make(u32::MAX, || unreachable!()), "n4294967295");
        assert_eq!(first, "u10_a123");
    }
}
