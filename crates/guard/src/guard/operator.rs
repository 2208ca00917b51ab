//! The operator's and the store's side of the lists: manual denials, the
//! allow-list, removal, listing, snapshot and restore.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{Guard, duration_ms};
use crate::addr::Key;
use crate::{ALLOW_LIST_MAX, Entry, Error, Event, List, Prefix, Reason};

impl Guard {
    /// Puts `ip`'s source on `list` by hand (reason [`Reason::Operator`]),
    /// for `expires_after` (`None`: until removed).
    ///
    /// # Errors
    /// [`Error::NotADenyList`] for [`List::Allow`]; [`Error::AlreadyListed`]
    /// when the source is already denied.
    pub fn deny(
        &mut self,
        now: Instant,
        ip: IpAddr,
        list: List,
        detail: String,
        expires_after: Option<Duration>,
    ) -> Result<Entry, Error> {
        if !list.is_deny() {
            return Err(Error::NotADenyList { list });
        }
        let key = Key::of(ip);
        let t = self.clock.ms(now);
        if let Some(existing) = self.deny.get(key) {
            if self.deny.check(key, t).is_some() {
                return Err(Error::AlreadyListed {
                    prefix: existing.prefix,
                    list: existing.list,
                });
            }
            if let Some(old) = self.deny.remove(key) {
                self.push_event(Event::Expired(old));
            }
        }
        let added_unix = self.clock.unix(now);
        let entry = Entry {
            prefix: key.prefix(),
            list,
            reason: Reason::Operator,
            detail,
            added_unix,
            expires_unix: expires_after.map(|d| added_unix.saturating_add(d.as_secs())),
        };
        let expires_ms = expires_after.map(|d| t.saturating_add(duration_ms(d)));
        self.insert_deny(key, entry.clone(), expires_ms);
        Ok(entry)
    }

    /// Adds `prefix` to the allow-list with the operator's `note`.
    ///
    /// # Errors
    /// [`Error::AllowListFull`] at 100 entries; [`Error::AlreadyListed`];
    /// [`Error::Prefix`] for a `/0` (use level `none` instead).
    pub fn allow(&mut self, now: Instant, prefix: Prefix, note: String) -> Result<Entry, Error> {
        let entry = Entry {
            prefix,
            list: List::Allow,
            reason: Reason::Operator,
            detail: note,
            added_unix: self.clock.unix(now),
            expires_unix: None,
        };
        self.check_allowable(&entry)?;
        self.allow.push(entry.clone());
        self.push_event(Event::Allowed(entry.clone()));
        Ok(entry)
    }

    fn check_allowable(&self, entry: &Entry) -> Result<(), Error> {
        if entry.prefix.is_empty() {
            return Err(Error::Prefix {
                input: entry.prefix.to_string(),
                reason: "a /0 would allow every address; set the level to none instead".into(),
            });
        }
        if self.allow.get(&entry.prefix).is_some() {
            return Err(Error::AlreadyListed {
                prefix: entry.prefix,
                list: List::Allow,
            });
        }
        if self.allow.len() >= ALLOW_LIST_MAX {
            return Err(Error::AllowListFull {
                max: ALLOW_LIST_MAX,
            });
        }
        Ok(())
    }

    /// Removes `prefix` from the allow-list.
    pub fn remove_allowed(&mut self, prefix: &Prefix) -> Option<Entry> {
        let entry = self.allow.remove(prefix)?;
        self.push_event(Event::Removed(entry.clone()));
        Some(entry)
    }

    /// The allow-list, in the order entered.
    pub fn allow_list(&self) -> &[Entry] {
        self.allow.entries()
    }

    /// The deny entries of `list` (or both lists), oldest first.
    pub fn deny_list(&self, list: Option<List>) -> Vec<Entry> {
        self.deny.entries(list)
    }

    /// The deny entry for `ip`'s source, if any (even if expired and not
    /// yet collected by [`Guard::handle_timeout`]).
    pub fn denied_entry(&self, ip: IpAddr) -> Option<&Entry> {
        self.deny.get(Key::of(ip))
    }

    /// Removes the deny entries (of `list`, or both) inside any of `within`
    /// — one address, several, or prefixes covering a series.
    pub fn remove_denied(&mut self, within: &[Prefix], list: Option<List>) -> Vec<Entry> {
        let gone = self.deny.remove_within(within, list);
        self.pardon(&gone);
        gone
    }

    /// Removes every deny entry (of `list`, or both).
    pub fn clear_denied(&mut self, list: Option<List>) -> Vec<Entry> {
        let gone = self.deny.clear(list);
        self.pardon(&gone);
        gone
    }

    /// Reports operator removals and resets the sources' counters, so a
    /// source the operator lets back in starts from zero.
    fn pardon(&mut self, gone: &[Entry]) {
        for e in gone {
            let key = Key::of(e.prefix.addr());
            if let Some(s) = self
                .sources
                .find(key)
                .and_then(|i| self.sources.value_mut(i))
            {
                s.count = 0;
            }
            if let Some(c) = self
                .auth_failures
                .find(key)
                .and_then(|i| self.auth_failures.value_mut(i))
            {
                c.count = 0;
            }
            if let Some(n) = self
                .enumeration
                .find(key)
                .and_then(|i| self.enumeration.value_mut(i))
            {
                n.users.clear();
            }
            self.push_event(Event::Removed(e.clone()));
        }
    }

    /// Every entry, for persistence: the allow-list, then the deny-lists
    /// oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        let mut all = self.allow.entries().to_vec();
        all.extend(self.deny.entries(None));
        all
    }

    /// Replaces both lists with `entries` (e.g. after the operator changed
    /// the store from the CLI), keeping rate counters. Reports like
    /// [`Guard::restore`].
    pub fn replace_entries(&mut self, entries: Vec<Entry>, now: Instant, now_unix: u64) {
        self.allow.clear();
        self.deny.clear(None);
        self.load(entries, now, now_unix);
    }

    pub(super) fn load(&mut self, mut entries: Vec<Entry>, now: Instant, now_unix: u64) {
        self.set_unix_time(now, now_unix);
        let t = self.clock.ms(now);
        // Oldest first, so that eviction keeps the newest.
        entries.sort_by_key(|e| e.added_unix);
        for entry in entries {
            if entry.list == List::Allow {
                match self.check_allowable(&entry) {
                    Ok(()) => self.allow.push(entry),
                    Err(e) => self.push_event(Event::Skipped {
                        entry,
                        why: e.to_string(),
                    }),
                }
                continue;
            }
            let key = Key::of(entry.prefix.addr());
            if !entry.prefix.is_source() {
                let why = "a deny entry is one source (an IPv4 address or an IPv6 /64)".into();
                self.push_event(Event::Skipped { entry, why });
                continue;
            }
            if self.deny.get(key).is_some() {
                let why = "the source is already denied".into();
                self.push_event(Event::Skipped { entry, why });
                continue;
            }
            let expires_ms = match entry.expires_unix {
                None => None,
                Some(at) if at <= now_unix => {
                    self.push_event(Event::Expired(entry));
                    continue;
                }
                Some(at) => Some(t.saturating_add((at - now_unix).saturating_mul(1000))),
            };
            let evicted = self
                .deny
                .insert(key, entry, expires_ms, self.settings.deny_list_max);
            for e in evicted {
                self.push_event(Event::Evicted(e));
            }
        }
    }
}
