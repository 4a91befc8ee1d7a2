//! One kind's lean rows by name, fed by a watcher: upserts and deletes report whether
//! anything the panes show changed, and a relist swaps in its rows whole when it is done.

use std::collections::BTreeMap;

/// A row that keeps something across replacements (a claim keeps its usage readings).
pub trait Row: PartialEq {
    fn carry(&mut self, _old: &Self) {}
}

#[derive(Debug)]
pub struct Table<R> {
    pub rows: BTreeMap<Box<str>, R>,
    /// Rows of a list in progress (`Init` … `InitDone`), swapped in at its end.
    relist: Option<BTreeMap<Box<str>, R>>,
    /// A full list has completed at least once.
    pub listed: bool,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
            relist: None,
            listed: false,
        }
    }
}

impl<R: Row> Table<R> {
    pub fn begin_list(&mut self) {
        self.relist = Some(BTreeMap::new());
    }

    pub fn listed_row(&mut self, name: &str, mut row: R) {
        if let Some(old) = self.rows.get(name) {
            row.carry(old);
        }
        match self.relist.as_mut() {
            Some(list) => {
                list.insert(name.into(), row);
            }
            None => {
                self.rows.insert(name.into(), row);
            }
        }
    }

    /// The list is complete: its rows replace the table's. True when anything changed.
    pub fn end_list(&mut self) -> bool {
        let first = !self.listed;
        self.listed = true;
        match self.relist.take() {
            Some(list) => {
                let changed = list != self.rows;
                self.rows = list;
                changed || first
            }
            None => true,
        }
    }

    /// True when the row is new or differs from the one it replaces.
    pub fn upsert(&mut self, name: &str, mut row: R) -> bool {
        match self.rows.get_mut(name) {
            Some(old) => {
                row.carry(old);
                if *old == row {
                    false
                } else {
                    *old = row;
                    true
                }
            }
            None => {
                self.rows.insert(name.into(), row);
                true
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> bool {
        self.rows.remove(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Row for u32 {}

    #[test]
    fn unchanged_upserts_are_not_changes_and_a_relist_drops_what_went_away() {
        let mut t: Table<u32> = Table::default();
        assert!(t.upsert("a", 1));
        assert!(!t.upsert("a", 1));
        assert!(t.upsert("b", 2));
        t.begin_list();
        t.listed_row("a", 1);
        assert_eq!(t.rows.len(), 2, "the old rows stay until the list is done");
        assert!(t.end_list());
        assert_eq!(t.rows.keys().map(|k| &**k).collect::<Vec<_>>(), ["a"]);
        assert!(t.listed);
        t.begin_list();
        t.listed_row("a", 1);
        assert!(!t.end_list());
        assert!(t.remove("a"));
        assert!(!t.remove("a"));
    }
}
